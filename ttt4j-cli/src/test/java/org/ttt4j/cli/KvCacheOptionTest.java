package org.ttt4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code --kv-cache}: generation runs over a bf16 cache; a format that is not one is refused, naming the option and the choices. */
class KvCacheOptionTest {
    @Test
    void generateRunsOverABf16CacheAndRefusesOtherFormats(@TempDir Path tmp) throws Exception {
        Path run = Cli.trainTiny(tmp, "bytes", "abc def ghi ".repeat(400), 2);
        var bf16 = Cli.printed("generate", "--model", run.toString(), "--kv-cache", "bf16", "--max-tokens", "6", "--temperature", "0", "abc de");
        assertEquals(0, bf16.status(), bf16.err());
        assertTrue(bf16.out().startsWith("abc de"), bf16.out());
        var q8 = Cli.printed("generate", "--model", run.toString(), "--kv-cache", "q8", "abc");
        assertNotEquals(0, q8.status());
        assertTrue(q8.err().contains("--kv-cache") && q8.err().contains("expected f32 or bf16"), q8.err());
    }
}
