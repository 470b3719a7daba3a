package org.ttt4j.core.tensor;

import static org.junit.jupiter.api.Assertions.*;

import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.ttt4j.core.ops.Arith;

class ArenaTest {
    private static float[] array(Tensor t) {
        return t.f32();
    }

    @Test
    void aClosedScopesArraysAreHandedOutAgainZeroed() {
        aClosedScopesArraysAreHandedOutAgainZeroed(new Arena());
        aClosedScopesArraysAreHandedOutAgainZeroed(new Arena(org.ttt4j.core.kernel.Elementwise::zero)); // in parallel chunks
    }

    private static void aClosedScopesArraysAreHandedOutAgainZeroed(Arena arena) {
        float[] small, large;
        try (var s = arena.open()) {
            Tensor a = Tensor.zeros(DType.FP32, 3, 5);
            Tensor b = Tensor.zeros(DType.FP32, 300_001);
            small = array(a);
            large = array(b);
            java.util.Arrays.fill(small, 7f);
            java.util.Arrays.fill(large, -2f);
        }
        assertEquals(4L * (15 + 300_001), arena.freshBytes());
        assertEquals(4L * (15 + 300_001), arena.heldBytes());
        try (var s = arena.open()) {
            Tensor b = Tensor.zeros(DType.FP32, 300_001);
            Tensor a = Tensor.zeros(DType.FP32, 15);
            assertSame(large, array(b), "same length: the same array");
            assertSame(small, array(a));
            for (float v : array(a)) assertEquals(0f, v);
            for (float v : array(b)) assertEquals(0f, v);
            Tensor c = Tensor.zeros(DType.FP32, 15); // a second one of that length: a new array
            assertNotSame(small, array(c));
            assertEquals(0, arena.heldBytes(), "all held arrays are lent out");
        }
        assertEquals(4L * (15 + 300_001), arena.reusedBytes());
        assertEquals(4L * (15 + 300_001 + 15), arena.freshBytes());
    }

    @Test
    void outsideAScopeAndOnOtherThreadsTensorsAreOrdinary() throws Exception {
        Arena arena = new Arena();
        float[] lent;
        try (var s = arena.open()) {
            lent = array(Tensor.zeros(DType.FP32, 64));
            var other = new AtomicReference<float[]>();
            Thread t = new Thread(() -> other.set(array(Tensor.zeros(DType.FP32, 64))));
            t.start();
            t.join();
            assertNotSame(lent, other.get());
            assertEquals(4L * 64, arena.freshBytes(), "the other thread's tensor is not the arena's");
            Tensor d = Tensor.zeros(DType.FP64, 64);
            assertNotNull(d.storage());
            assertEquals(4L * 64, arena.freshBytes(), "fp64 is not recycled");
        }
        float[] after = array(Tensor.zeros(DType.FP32, 64));
        assertNotSame(lent, after, "no scope open: a fresh array");
    }

    /** An array whose tensor died during the scope may be collected: the arena holds it weakly, and does not return it then. */
    @Test
    void anArrayNoTensorReferencesCanBeCollected() {
        Arena arena = new Arena();
        var ref = new java.lang.ref.WeakReference<float[]>(null);
        try (var s = arena.open()) {
            ref = new java.lang.ref.WeakReference<>(array(Tensor.zeros(DType.FP32, 1 << 20)));
            for (int i = 0; i < 10 && ref.get() != null; i++) System.gc();
            assertNull(ref.get(), "nothing but the arena refers to the array: the collector may take it");
        }
        assertEquals(0, arena.heldBytes(), "a collected array is not kept");
    }

    @Test
    void poisonMakesAnEscapedTensorReadNaN() {
        Arena arena = new Arena().poisonOnClose(true);
        Tensor escaped;
        try (var s = arena.open()) {
            escaped = Arith.add(Tensor.of(new float[] {1, 2}, 2), Tensor.of(new float[] {3, 4}, 2));
            assertEquals(4.0, escaped.get(0));
        }
        assertTrue(Double.isNaN(escaped.get(0)), "read after close: the poison shows");
    }

    @Test
    void scopesDoNotNestAndCloseOnTheirThread() throws Exception {
        Arena arena = new Arena();
        var s = arena.open();
        assertThrows(IllegalStateException.class, arena::open);
        assertThrows(IllegalStateException.class, () -> new Arena().open(), "one scope per thread, whatever the arena");
        var error = new AtomicReference<Throwable>();
        Thread t = new Thread(() -> {
            try {
                s.close();
            } catch (Throwable e) {
                error.set(e);
            }
        });
        t.start();
        t.join();
        assertInstanceOf(IllegalStateException.class, error.get());
        s.close();
        s.close(); // idempotent
        try (var again = arena.open()) {
            assertNotNull(again);
        }
    }
}
