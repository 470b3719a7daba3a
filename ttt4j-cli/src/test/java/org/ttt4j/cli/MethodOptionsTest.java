package org.ttt4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ttt4j.lm.methods.Method;
import org.ttt4j.lm.methods.MethodOption;
import org.ttt4j.lm.methods.Methods;

/** The methods' own options reach `train` through the registry, and `info` lists the methods. */
class MethodOptionsTest {
    @Test
    void trainShowsEveryRegisteredMethodsOptions() {
        var help = Cli.printed("train", "--help");
        assertEquals(0, help.status());
        assertTrue(help.out().contains("Options of the methods"), help.out());
        int options = 0;
        for (Method m : Methods.all()) {
            for (MethodOption o : m.trainOptions()) {
                assertTrue(help.out().contains(o.name()), o.name() + " of " + m.name() + " is not in train --help");
                options++;
            }
        }
        assertTrue(options >= 10, "TTT layers and TTT-E2E give train " + options + " options");
    }

    @Test
    void infoListsTheMethods() {
        var info = Cli.printed("info");
        assertEquals(0, info.status(), info.err());
        for (Method m : Methods.all()) assertTrue(info.out().contains(m.name() + " ") && info.out().contains(m.title()), info.out());
    }

    @Test
    void aMethodOptionIsAppliedOrRefusedByItsMethod(@TempDir Path dir) {
        Path run = dir.resolve("run");
        var refused = Cli.printed("train", "--preset", "tiny", "--e2e-chunk", "4", "--out", run.toString());
        assertEquals(1, refused.status());
        assertTrue(refused.err().contains("--e2e-chunk") && refused.err().contains("need --e2e"), refused.err());
        assertFalse(Files.exists(run), "nothing is written before the options are checked");

        var withModel = Cli.printed("train", "--model", dir.toString(), "--ttt-mini-batch", "4", "--out", run.toString());
        assertEquals(1, withModel.status());
        assertTrue(withModel.err().contains("only --context may change it"), withModel.err());
    }
}
