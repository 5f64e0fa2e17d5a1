package io.moestreams.compute.ffn;

import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntConsumer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One-time ND4J set-up for the expert FFNs: F32 as the default data type, OpenBLAS single-threaded, the FFNs' GEMM
 * parts spread over {@link #parallelism()} threads of their own, and libnd4j's element-wise ops on one thread.
 *
 * <p>Why OpenBLAS runs single-threaded: its threads split a call's rows at places that depend on the row count, and a
 * row at such a split is accumulated in another order, so a request's output would depend on which other requests
 * shared its micro-batch. The FFNs split their batches themselves into parts at fixed-layout boundaries ({@link
 * RowPlan}) and run the parts concurrently, which keeps every row's result independent of the batch
 * (docs/architecture.md, "Bit-exact outputs").
 *
 * <p>Why one thread for the element-wise ops: libnd4j's op threads spin for a while after each op and fight the GEMM
 * threads over the cores of a small machine (the element-wise ops are a few percent of the work). Override with
 * {@code -Dmoe.nd4j.threads=N} (GEMM parts computed concurrently, default: available processors) and
 * {@code -Dmoe.nd4j.opThreads=N}. The first call loads the native libraries (a few seconds).
 */
public final class Nd4jSupport {

    private static final Logger LOGGER = LoggerFactory.getLogger(Nd4jSupport.class);

    /** System property: GEMM parts computed concurrently (default: available processors). */
    public static final String THREADS_PROPERTY = "moe.nd4j.threads";
    /** System property: threads libnd4j's element-wise ops use (default 1). */
    public static final String OP_THREADS_PROPERTY = "moe.nd4j.opThreads";

    private static volatile boolean configured;
    private static int parallelism;
    private static ExecutorService pool;

    private Nd4jSupport() {}

    /** Configures ND4J once per JVM; later calls return immediately. Returns {@link #parallelism()}. */
    public static int configure() {
        if (configured) {
            return parallelism;
        }
        synchronized (Nd4jSupport.class) {
            if (!configured) {
                int threads = Math.max(
                        1,
                        Integer.getInteger(
                                THREADS_PROPERTY, Runtime.getRuntime().availableProcessors()));
                int ops = Math.max(1, Integer.getInteger(OP_THREADS_PROPERTY, 1));
                Nd4j.setDefaultDataTypes(DataType.FLOAT, DataType.FLOAT);
                Nd4j.getEnvironment().setMaxMasterThreads(ops);
                Nd4j.factory().blas().setMaxThreads(1);
                parallelism = threads;
                if (threads > 1) {
                    AtomicInteger n = new AtomicInteger();
                    pool = Executors.newFixedThreadPool(threads - 1, r -> {
                        Thread t = new Thread(r, "moe-gemm-" + n.incrementAndGet());
                        t.setDaemon(true);
                        return t;
                    });
                }
                configured = true;
                LOGGER.info(
                        "ND4J configured: data type {}, BLAS {} single-threaded, GEMM parts on {} thread(s),"
                                + " element-wise ops on {} thread(s)",
                        Nd4j.dataType(),
                        Nd4j.factory().blas().getBlasVendor(),
                        threads,
                        Nd4j.getEnvironment().maxMasterThreads());
            }
        }
        return parallelism;
    }

    /** GEMM parts computed concurrently (configures ND4J first). */
    public static int parallelism() {
        return configure();
    }

    /**
     * Runs {@code task} for every index in [0, count) on the calling thread and up to {@code maxThreads - 1} threads
     * of the GEMM pool, each taking the next index until none is left, and returns when all are done. A pool thread
     * that starts late (the pool is busy with another expert's work) finds nothing left and returns at once.
     */
    static void forEach(int count, int maxThreads, IntConsumer task) {
        int helpers = pool == null ? 0 : Math.min(count, Math.min(maxThreads, parallelism)) - 1;
        if (helpers <= 0) {
            for (int i = 0; i < count; i++) {
                task.accept(i);
            }
            return;
        }
        AtomicInteger next = new AtomicInteger();
        Runnable worker = () -> {
            for (int i = next.getAndIncrement(); i < count; i = next.getAndIncrement()) {
                task.accept(i);
            }
        };
        Future<?>[] others = new Future<?>[helpers];
        for (int i = 0; i < helpers; i++) {
            others[i] = pool.submit(worker);
        }
        RuntimeException failure = null;
        try {
            worker.run();
        } catch (RuntimeException e) {
            next.set(count); // the helpers stop after their current task
            failure = e;
        }
        boolean interrupted = false;
        for (Future<?> f : others) {
            while (true) {
                try {
                    f.get();
                    break;
                } catch (InterruptedException e) {
                    interrupted = true; // the parts write into buffers this thread owns: wait for them regardless
                } catch (ExecutionException e) {
                    if (failure == null) {
                        failure = e.getCause() instanceof RuntimeException r
                                ? r
                                : new IllegalStateException("a GEMM part failed", e.getCause());
                    }
                    break;
                }
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        if (failure != null) {
            throw failure;
        }
    }
}
