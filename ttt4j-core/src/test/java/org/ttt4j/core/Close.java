package org.ttt4j.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Element-wise comparison with an absolute plus relative tolerance, naming the first bad element. */
public final class Close {
    private Close() {}

    public static void assertClose(String what, float[] expected, float[] actual, double tol) {
        assertEquals(expected.length, actual.length, what + ": lengths differ");
        for (int i = 0; i < expected.length; i++) {
            double allowed = tol + tol * Math.abs(expected[i]);
            assertTrue(Math.abs(expected[i] - actual[i]) <= allowed,
                    what + " element " + i + ": expected " + expected[i] + " got " + actual[i]);
        }
    }
}
