package org.ttt4j.lm.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TokenizersTest {
    @Test
    void builtInNames() {
        assertSame(ByteTokenizer.instance(), Tokenizers.byName("bytes", null));
        assertSame(TiktokenTokenizer.r50k(), Tokenizers.byName("gpt2", null));
        assertSame(TiktokenTokenizer.r50k(), Tokenizers.byName("r50k_base", null));
        assertSame(TiktokenTokenizer.cl100k(), Tokenizers.byName("cl100k_base", null));
    }

    @Test
    void trainedFolderByPathOrUnderDir(@TempDir Path tmp) throws IOException {
        new BpeTrainer(262).progress(s -> { }, 1000)
                .train(List.of("hello hello world world hello".getBytes(StandardCharsets.UTF_8)))
                .save(tmp.resolve("tok"));
        assertEquals(262, Tokenizers.byName(tmp.resolve("tok").toString(), null).vocabSize());
        assertEquals("bpe:262", Tokenizers.byName("tok", tmp).name());
    }

    @Test
    void unknownNamesListTheAcceptedOnes(@TempDir Path tmp) {
        for (String bad : new String[] {"gpt5", "", tmp.resolve("nothing-here").toString()}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Tokenizers.byName(bad, tmp));
            assertTrue(e.getMessage().contains("bytes") && e.getMessage().contains("cl100k_base")
                    && e.getMessage().contains("gpt2"), e.getMessage());
        }
    }
}
