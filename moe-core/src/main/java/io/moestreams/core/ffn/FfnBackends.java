package io.moestreams.core.ffn;

import java.util.Iterator;
import java.util.ServiceLoader;

/**
 * Finds the {@link FfnBackend} on the classpath (moe-compute registers its ND4J backend as a service), for callers
 * that do not pass one explicitly. Processes that only route (the gateway) never need one.
 */
public final class FfnBackends {

    private FfnBackends() {}

    /**
     * The first backend registered under {@code META-INF/services/io.moestreams.core.ffn.FfnBackend}.
     *
     * @throws IllegalStateException if none is on the classpath
     */
    public static FfnBackend discover() {
        Iterator<FfnBackend> it = ServiceLoader.load(FfnBackend.class).iterator();
        if (!it.hasNext()) {
            throw new IllegalStateException("no FfnBackend on the classpath: loading expert FFNs needs the moe-compute"
                    + " module (its Nd4jBackend); the gateway loads the router only (ExpertSelection.none())");
        }
        return it.next();
    }
}
