package org.ttt4j.lm.data;

import static org.junit.jupiter.api.Assertions.*;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class SplitTest {
    static List<CorpusSource.DocumentInfo> docs(int n) {
        List<CorpusSource.DocumentInfo> out = new ArrayList<>();
        for (int i = 0; i < n; i++) out.add(new CorpusSource.DocumentInfo("doc" + i, 100, 0));
        return out;
    }

    @Test
    void deterministicAndRoughlyTheRequestedFraction() {
        Split split = new Split(7, 0.1);
        Set<String> a = split.validationIds(docs(2000));
        assertEquals(a, new Split(7, 0.1).validationIds(docs(2000)));
        assertTrue(a.size() > 150 && a.size() < 250, "held out " + a.size());
        assertNotEquals(a, new Split(8, 0.1).validationIds(docs(2000)), "the seed matters");
    }

    @Test
    void addingDocumentsDoesNotMoveOthers() {
        Split split = new Split(3, 0.05);
        Set<String> before = split.validationIds(docs(500));
        Set<String> after = split.validationIds(docs(800));
        for (int i = 0; i < 500; i++) {
            String id = "doc" + i;
            assertEquals(before.contains(id), after.contains(id), id);
        }
    }

    @Test
    void atLeastOneDocumentIsHeldOut() {
        Set<String> v = Split.defaults().validationIds(docs(3));
        assertEquals(1, v.size());
        assertEquals(v, Split.defaults().validationIds(docs(3)));
        assertTrue(new Split(1, 0).validationIds(docs(10)).isEmpty(), "fraction 0 holds out nothing");
        assertTrue(Split.defaults().validationIds(docs(1)).isEmpty(), "a single document stays for training");
        assertThrows(IllegalArgumentException.class, () -> new Split(1, 1.0));
    }
}
