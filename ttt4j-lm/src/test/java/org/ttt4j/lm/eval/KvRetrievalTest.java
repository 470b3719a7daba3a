package org.ttt4j.lm.eval;

import static org.junit.jupiter.api.Assertions.*;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.ttt4j.lm.methods.qttt.QtttOptions;
import org.ttt4j.lm.model.Decoder;
import org.ttt4j.lm.model.Presets;
import org.ttt4j.lm.tokenizer.ByteTokenizer;

class KvRetrievalTest {
    /** Every GET of a training document answers with the value its key was PUT with. */
    @Test
    void documentsAreConsistentLogs() {
        String doc = KvRetrieval.document(new SplittableRandom(1), 400);
        assertTrue(doc.length() <= 400 && doc.length() > 360, "length " + doc.length());
        Map<String, String> store = new HashMap<>();
        int gets = 0;
        for (String line : doc.split("\n")) {
            String[] f = line.split(" ");
            assertEquals(3, f.length, line);
            assertEquals(1, f[1].length(), line);
            if (f[0].equals("PUT")) assertNull(store.put(f[1], f[2]), "keys are put once: " + line);
            else {
                assertEquals("GET", f[0]);
                assertEquals(store.get(f[1]), f[2], line);
                gets++;
            }
        }
        assertTrue(gets > 5);
    }

    /** The needle sits at the asked depth, its key is unique, and the query asks for it. */
    @Test
    void probesPlaceTheNeedle() {
        for (double depth : new double[] {0, 0.5, 1}) {
            var p = KvRetrieval.probe(new SplittableRandom(3), 1000, depth);
            String needle = p.context().substring(p.needleStart(), p.needleEnd());
            assertTrue(needle.startsWith("PUT ") && needle.endsWith(" " + p.answer() + "\n"), needle);
            String key = needle.substring(4, 5);
            assertTrue(p.context().endsWith("GET " + key + " "), p.context().substring(p.context().length() - 20));
            assertEquals(p.context().indexOf(" " + key + " "), p.needleStart() + 3, "the key appears nowhere before its needle");
            assertEquals(p.context().lastIndexOf(" " + key + " "), p.context().length() - 3, "nor between the needle and the query");
            double at = p.needleStart() / (double) p.context().length();
            assertEquals(depth, at, 0.03, "depth");
        }
    }

    /** The evaluation runs every method on every probe and reports a needle mass for each layer. */
    @Test
    void evaluationReportsEveryMethod() {
        Decoder m = new Decoder(Presets.byName("tiny").withContext(512), 1);
        var out = RetrievalEval.run(m, ByteTokenizer.instance(), new int[] {64, 128}, 2, new QtttOptions(2, 16, 1e-2, 0.01, 1, 1), true, 1, null);
        assertEquals(2 * 2 * 3, out.size());
        for (var o : out) {
            assertEquals(3, o.expected().length());
            if (o.method().equals("qttt")) {
                assertEquals(2, o.massBefore().length);
                for (int i = 0; i < 2; i++) assertTrue(o.massBefore()[i] > 0 && o.massBefore()[i] < 1);
                assertTrue(o.adaptMs() > 0);
            }
        }
        assertEquals(List.of("in-context", "qttt", "thinking"), out.subList(0, 3).stream().map(RetrievalEval.Outcome::method).toList());
    }
}
