package org.ttt4j.lm.eval;

import static org.junit.jupiter.api.Assertions.*;

import java.util.List;
import org.junit.jupiter.api.Test;

class LossDeltaTest {
    @Test
    void contextMeansAverageEachDocumentsPrefix() {
        // Document a: 1..5; document b: 3, 4. Context 2: mean of (1.5, 3.5); context 4: a only (mean 2.5); context 5: a (mean 3).
        var r = LossByPosition.of("x", List.of(new float[] {1, 2, 3, 4, 5}, new float[] {3, 4}));
        assertEquals(List.of(2, 4, 5), r.byContext().stream().map(LossByPosition.ContextLoss::context).toList());
        assertEquals(2.5, r.byContext().get(0).meanLoss(), 1e-9);
        assertEquals(2, r.byContext().get(0).documents());
        assertEquals(2.5, r.byContext().get(1).meanLoss(), 1e-9);
        assertEquals(1, r.byContext().get(1).documents());
        assertEquals(3.0, r.byContext().get(2).meanLoss(), 1e-9);
    }

    @Test
    void deltaIsModelMinusReference() {
        var ref = LossByPosition.of("full", List.of(new float[] {4, 4, 4, 4}));
        var model = LossByPosition.of("ttt", List.of(new float[] {4, 3, 2, 1}));
        var d = LossDelta.of(model, ref);
        assertEquals("full", d.reference());
        assertEquals(-1.5, d.meanDelta(), 1e-9);
        // Buckets [1,2) [2,4) [4,5): deltas 0, mean(-1,-2), -3.
        assertEquals(List.of(0.0, -1.5, -3.0), d.byPosition().stream().map(LossDelta.Point::delta).toList());
        // Contexts 2 and 4: mean over the first L tokens.
        assertEquals(-0.5, d.byContext().get(0).delta(), 1e-9);
        assertEquals(-1.5, d.byContext().get(1).delta(), 1e-9);
        assertEquals(5, d.byContext().get(1).to());
    }

    @Test
    void differentDocumentSetsAreRefused() {
        var ref = LossByPosition.of("full", List.of(new float[] {4, 4}, new float[] {1, 1}));
        var model = LossByPosition.of("ttt", List.of(new float[] {4, 3}));
        var e = assertThrows(IllegalArgumentException.class, () -> LossDelta.of(model, ref));
        assertTrue(e.getMessage().contains("same documents"), e.getMessage());
    }
}
