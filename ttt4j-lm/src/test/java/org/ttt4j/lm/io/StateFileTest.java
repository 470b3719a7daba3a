package org.ttt4j.lm.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StateFileTest {
    @TempDir Path dir;

    record Progress(String run, long step, double loss, List<Integer> seeds, Map<String, String> notes) {}

    @Test
    void roundTripsRecordsAtomically() throws IOException {
        Path f = dir.resolve("run/progress.json");
        Progress p = new Progress("r1", 1200, 2.5, List.of(1, 2, 3), Map.of("lr", "3e-4"));
        StateFile.write(f, p);
        assertEquals(p, StateFile.read(f, Progress.class));
        Progress q = new Progress("r1", 1300, 2.25, List.of(), Map.of());
        StateFile.write(f, q);
        assertEquals(q, StateFile.read(f, Progress.class));
        try (Stream<Path> s = Files.list(f.getParent())) {
            assertEquals(1, s.count(), "no temporary files left behind");
        }
    }

    @Test
    void missingFileIsNoSuchFile() {
        Path f = dir.resolve("absent.json");
        NoSuchFileException e = assertThrows(NoSuchFileException.class, () -> StateFile.read(f, Progress.class));
        assertTrue(e.getMessage().contains("absent.json"), e.getMessage());
    }

    @Test
    void corruptFilesFailNamingTheFile() throws IOException {
        Path f = dir.resolve("progress.json");
        StateFile.write(f, new Progress("r", 1, 1.0, List.of(1), Map.of()));
        String good = Files.readString(f);

        Files.writeString(f, "");
        assertMessage(f, "empty");
        Files.writeString(f, good.substring(0, good.length() / 2));
        assertMessage(f, "corrupt");
        Files.writeString(f, good + " {}");
        assertMessage(f, "corrupt");
        Files.writeString(f, "null");
        assertMessage(f, "null");
        Files.writeString(f, "{\"run\": \"r\", \"step\": 3, \"loss\": 1, \"seeds\": [], \"notes\": {}, \"stepz\": 3}");
        assertMessage(f, "stepz");
        Files.writeString(f, "{\"run\": \"r\", \"step\": \"many\"}");
        assertMessage(f, "corrupt");
        assertMessage(f, "field 'step' (expected long)");
        Files.writeString(f, "{\"run\": \"r\", \"step\": null, \"loss\": 1}");
        assertMessage(f, "field 'step'");
        Files.writeString(f, "{\"run\": \"r\", \"step\": 1, \"loss\": 1, \"seeds\": [1, \"x\"]}");
        assertMessage(f, "field 'seeds[1]'");
    }

    private static void assertMessage(Path f, String word) {
        IOException e = assertThrows(IOException.class, () -> StateFile.read(f, Progress.class));
        assertTrue(e.getMessage().contains(f.toString()), e.getMessage());
        assertTrue(e.getMessage().contains(word), e.getMessage());
    }
}
