package io.moestreams.core.ffn;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One-time ND4J set-up for the expert FFNs: F32 as the default data type and the thread counts of libnd4j's
 * OpenMP pool and of OpenBLAS set to the available cores (override with {@code -Dmoe.nd4j.threads=N}).
 * The first call loads the native libraries (a few seconds).
 */
public final class Nd4jSupport {

    private static final Logger LOGGER = LoggerFactory.getLogger(Nd4jSupport.class);

    /** System property overriding the number of threads ND4J and OpenBLAS use. */
    public static final String THREADS_PROPERTY = "moe.nd4j.threads";

    private static volatile boolean configured;
    private static int threads;

    private Nd4jSupport() {
    }

    /** Configures ND4J once per JVM; later calls return immediately. Returns the thread count in use. */
    public static int configure() {
        if (configured) {
            return threads;
        }
        synchronized (Nd4jSupport.class) {
            if (!configured) {
                int wanted = Integer.getInteger(THREADS_PROPERTY, Runtime.getRuntime().availableProcessors());
                wanted = Math.max(1, wanted);
                Nd4j.setDefaultDataTypes(DataType.FLOAT, DataType.FLOAT);
                Nd4j.getEnvironment().setMaxMasterThreads(wanted);
                Nd4j.getEnvironment().setMaxThreads(wanted);
                Nd4j.factory().blas().setMaxThreads(wanted);
                threads = wanted;
                configured = true;
                LOGGER.info("ND4J configured: data type {}, {} threads (OpenBLAS {}), BLAS vendor {}",
                        Nd4j.dataType(), wanted, Nd4j.factory().blas().getMaxThreads(),
                        Nd4j.factory().blas().getBlasVendor());
            }
        }
        return threads;
    }
}
