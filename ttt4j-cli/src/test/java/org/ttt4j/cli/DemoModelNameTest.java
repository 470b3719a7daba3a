package org.ttt4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code --model demo} is the shipped demo model: generate, save and continue a session with it. */
class DemoModelNameTest {
    @Test
    void theDemoModelGeneratesAndItsSessionContinues(@TempDir Path dir) {
        Path state = dir.resolve("s.safetensors");
        var first = Cli.printed("generate", "--model", "demo", "--max-tokens", "6", "--temperature", "0", "--save-state", state.toString(),
                "public final class Lists {");
        assertEquals(0, first.status(), first.err());
        assertTrue(Files.isRegularFile(state), "the session state was saved");
        var again = Cli.printed("generate", "--model", "demo", "--max-tokens", "6", "--temperature", "0", "--load-state", state.toString(), " ");
        assertEquals(0, again.status(), again.err());
        assertTrue(!again.out().isBlank(), again.out());
        var missing = Cli.printed("generate", "--model", dir.resolve("demo").toString(), "--max-tokens", "2", "x");
        assertEquals(1, missing.status(), "a folder path named demo that does not exist is not the demo model");
    }
}
