package org.ttt4j.core.tensor;

/**
 * Whether ops record history on this thread. Recording is on by default; inference runs inside
 * {@code try (var s = GradMode.disabled()) {...}}. Autograd turns it on while it runs backward
 * rules with {@code createGraph}, which is how gradients become differentiable.
 */
public final class GradMode {
    private static final ThreadLocal<boolean[]> ENABLED = ThreadLocal.withInitial(() -> new boolean[] {true});

    private GradMode() {}

    public static boolean isEnabled() {
        return ENABLED.get()[0];
    }

    /** A scope that restores the previous mode when closed. */
    public static Scope set(boolean on) {
        boolean[] cell = ENABLED.get();
        boolean previous = cell[0];
        cell[0] = on;
        return () -> cell[0] = previous;
    }

    public static Scope disabled() {
        return set(false);
    }

    public static Scope enabled() {
        return set(true);
    }

    @FunctionalInterface
    public interface Scope extends AutoCloseable {
        @Override
        void close();
    }
}
