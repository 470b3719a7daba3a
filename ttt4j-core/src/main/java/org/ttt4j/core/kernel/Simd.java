package org.ttt4j.core.kernel;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The switch between the Vector API kernels and their scalar twins. {@code -Dttt4j.simd=false}
 * selects the scalar reference path everywhere (useful to bisect a numerical difference).
 */
public final class Simd {
    /** The preferred species: 16 lanes with AVX-512, 8 with AVX2. Static final so C2 intrinsifies. */
    public static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;

    private static volatile boolean enabled =
            !"false".equalsIgnoreCase(System.getProperty("ttt4j.simd", "true"));

    private Simd() {}

    public static boolean enabled() {
        return enabled;
    }

    /** For tests that compare both paths in one JVM. Returns the previous setting. */
    public static boolean setEnabled(boolean on) {
        boolean was = enabled;
        enabled = on;
        return was;
    }
}
