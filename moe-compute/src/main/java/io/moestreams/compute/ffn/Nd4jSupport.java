package io.moestreams.compute.ffn;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One-time ND4J set-up for the expert FFNs: F32 as the default data type, OpenBLAS (the GEMMs, where the time
 * goes) on all available cores, and libnd4j's own element-wise ops (activation, products, scaling) on one thread.
 *
 * <p>Why one thread for the element-wise ops: OpenBLAS worker threads spin for a while after each GEMM, and so do
 * libnd4j's op threads after each op. On a small machine the two pools then fight over the cores: measured on
 * 2 cores at d=1024, f=4096, the expert chain reached only 40–60% of the raw GEMM rate with 2 op threads and
 * ~90% with 1 (the element-wise ops are a few percent of the work). Override with
 * {@code -Dmoe.nd4j.threads=N} (BLAS threads) and {@code -Dmoe.nd4j.opThreads=N} (libnd4j op threads).
 * The first call loads the native libraries (a few seconds).
 */
public final class Nd4jSupport {

    private static final Logger LOGGER = LoggerFactory.getLogger(Nd4jSupport.class);

    /** System property: threads OpenBLAS uses (default: available processors). */
    public static final String THREADS_PROPERTY = "moe.nd4j.threads";
    /** System property: threads libnd4j's element-wise ops use (default 1). */
    public static final String OP_THREADS_PROPERTY = "moe.nd4j.opThreads";

    private static volatile boolean configured;
    private static int blasThreads;

    private Nd4jSupport() {}

    /** Configures ND4J once per JVM; later calls return immediately. Returns the BLAS thread count. */
    public static int configure() {
        if (configured) {
            return blasThreads;
        }
        synchronized (Nd4jSupport.class) {
            if (!configured) {
                int blas = Math.max(
                        1,
                        Integer.getInteger(
                                THREADS_PROPERTY, Runtime.getRuntime().availableProcessors()));
                int ops = Math.max(1, Integer.getInteger(OP_THREADS_PROPERTY, 1));
                Nd4j.setDefaultDataTypes(DataType.FLOAT, DataType.FLOAT);
                Nd4j.getEnvironment().setMaxMasterThreads(ops);
                Nd4j.factory().blas().setMaxThreads(blas);
                blasThreads = blas;
                configured = true;
                LOGGER.info(
                        "ND4J configured: data type {}, BLAS {} with {} threads, element-wise ops on {} thread(s)",
                        Nd4j.dataType(),
                        Nd4j.factory().blas().getBlasVendor(),
                        Nd4j.factory().blas().getMaxThreads(),
                        Nd4j.getEnvironment().maxMasterThreads());
            }
        }
        return blasThreads;
    }
}
