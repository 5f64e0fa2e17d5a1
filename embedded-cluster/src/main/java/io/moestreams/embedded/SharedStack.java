package io.moestreams.embedded;

/**
 * One {@link EmbeddedStack} per JVM for integration tests of other modules: started on the first
 * {@link #get()}, stopped by a shutdown hook. Tests that share it must not rely on an empty cluster
 * (use unique topic names and consumer groups).
 */
public final class SharedStack {

    private static EmbeddedStack stack;
    private static RuntimeException failure;

    private SharedStack() {}

    /**
     * The JVM-wide stack, started on first use. If that start failed, every later call throws the same
     * failure instead of trying again.
     */
    public static synchronized EmbeddedStack get() {
        if (stack != null) {
            return stack;
        }
        if (failure != null) {
            throw new IllegalStateException(
                    "the shared embedded stack failed to start earlier: " + failure.getMessage(), failure);
        }
        try {
            EmbeddedStack started = EmbeddedStack.start();
            Runtime.getRuntime().addShutdownHook(new Thread(started::close, "moe-shared-stack-shutdown"));
            stack = started;
            return started;
        } catch (RuntimeException e) {
            failure = e;
            throw e;
        }
    }
}
