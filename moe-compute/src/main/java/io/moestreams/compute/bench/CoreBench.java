package io.moestreams.compute.bench;

import io.moestreams.compute.ffn.GatedExpertFfn;
import io.moestreams.compute.ffn.Nd4jSupport;
import io.moestreams.core.config.Activation;
import io.moestreams.core.ffn.ExpertRef;
import io.moestreams.core.ffn.GatedMlpWeights;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Plain-Java benchmark of the expert compute, measuring in one run, per batch size b:
 * <ul>
 *   <li>the raw ND4J sgemm rate of [b,d]×[d,f] (GFLOP/s = 2·b·d·f per call), OpenBLAS on all its threads;</li>
 *   <li>the batched Mixtral expert (silu, with gate-weight scaling, copies in and out of Java arrays included):
 *       rows/s and effective GFLOP/s = 3·2·b·d·f per forward;</li>
 *   <li>their ratio (expert / raw);</li>
 *   <li>the rows the expert actually computed for b rows: the price of bit-exact, batch-invariant outputs (zero guard
 *       and padding rows around each GEMM part, see {@code RowPlan}), and its GEMM parts.</li>
 * </ul>
 * Each measurement warms up first (its own OpenBLAS thread count set before each run), then takes the median of {@value #RUNS} timed runs of about
 * {@code runSeconds} each; raw and expert runs alternate so that both see the same machine load. Usage: {@code CoreBench [d] [f] [b1,b2,...]} (defaults 1024 4096 1,8,32,128,512).
 */
public final class CoreBench {

    static final int RUNS = 5;

    /** Untimed calls before each timed run, in seconds (see {@link #interleavedMedians}). */
    static final double SETTLE_SECONDS = 0.2;

    private static final double DEFAULT_RUN_SECONDS = 0.4;

    private CoreBench() {}

    /**
     * One line of the table.
     *
     * @param batch             rows per call, b
     * @param rawGflops         median sgemm [b,d]×[d,f] GFLOP/s
     * @param expertRowsPerSec  median expert rows per second
     * @param expertGflops      median expert effective GFLOP/s (3·2·b·d·f per forward)
     * @param ratio             expertGflops / rawGflops
     * @param computedRows      rows the expert computed for b rows (guard and padding rows included)
     * @param parts             GEMM parts the expert split the b rows into
     */
    public record Row(
            int batch,
            double rawGflops,
            double expertRowsPerSec,
            double expertGflops,
            double ratio,
            int computedRows,
            int parts) {}

    /** Runs the benchmark and prints the table to {@code out}. */
    public static List<Row> run(int d, int f, int[] batches, PrintStream out) {
        return run(d, f, batches, out, DEFAULT_RUN_SECONDS);
    }

    static List<Row> run(int d, int f, int[] batches, PrintStream out, double runSeconds) {
        int threads = Nd4jSupport.configure();
        SplittableRandom random = new SplittableRandom(42);
        float[] w1 = gaussian(random, f * d, 1.0 / Math.sqrt(d));
        float[] w3 = gaussian(random, f * d, 1.0 / Math.sqrt(d));
        float[] w2 = gaussian(random, d * f, 1.0 / Math.sqrt(f));
        INDArray rawW = Nd4j.create(gaussian(random, d * f, 1.0 / Math.sqrt(d)), new long[] {d, f}, 'c');
        out.printf(
                "CoreBench d=%d f=%d, %d threads, %s, median of %d runs of ~%.1f s%n",
                d, f, threads, Nd4j.factory().blas().getBlasVendor(), RUNS, runSeconds);
        out.printf(
                "%6s %14s %14s %16s %8s %15s%n",
                "b", "raw GFLOP/s", "expert rows/s", "expert GFLOP/s", "ratio", "computed/parts");
        List<Row> rows = new ArrayList<>();
        try (GatedExpertFfn expert =
                new GatedExpertFfn(new GatedMlpWeights(ExpertRef.routed(0), d, f, Activation.SILU, w1, w3, w2))) {
            for (int b : batches) {
                INDArray x = Nd4j.create(gaussian(random, b * d, 1.0), new long[] {b, d}, 'c');
                INDArray y = Nd4j.createUninitialized(DataType.FLOAT, new long[] {b, f}, 'c');
                float[] in = gaussian(random, b * d, 1.0);
                float[] scale = gaussian(random, b, 1.0);
                float[] result = new float[b * d];
                // raw sgemm on all cores through OpenBLAS's threads; the expert splits its rows itself and runs
                // OpenBLAS single-threaded (see Nd4jSupport)
                double[] seconds = interleavedMedians(
                        runSeconds,
                        new Runnable[] {() -> blasThreads(threads), () -> blasThreads(1)},
                        () -> Nd4j.gemm(x, rawW, y, false, false, 1.0, 0.0),
                        () -> expert.forward(in, b, scale, result));
                double rawSeconds = seconds[0];
                double expertSeconds = seconds[1];
                double flop = 2.0 * b * d * f;
                double raw = flop / rawSeconds / 1e9;
                double eff = 3 * flop / expertSeconds / 1e9;
                Row row = new Row(
                        b,
                        raw,
                        b / expertSeconds,
                        eff,
                        eff / raw,
                        expert.computedRowsLastForward(),
                        expert.partsLastForward());
                rows.add(row);
                out.printf(
                        "%6d %14.1f %14.0f %16.1f %8.2f %15s%n",
                        b, raw, row.expertRowsPerSec(), eff, row.ratio(), row.computedRows() + "/" + row.parts());
                x.close();
                y.close();
            }
        }
        rawW.close();
        blasThreads(1);
        return rows;
    }

    private static void blasThreads(int n) {
        Nd4j.factory().blas().setMaxThreads(n);
    }

    /**
     * Median seconds per call of each task. Each task is warmed up for about one run (which also sizes its
     * runs), then the timed runs alternate between the tasks so that both see the same machine load. Every timed run
     * comes after {@value #SETTLE_SECONDS} s of untimed calls of the same task: OpenBLAS's worker threads spin for
     * about 0.1 s after a multi-threaded call (its THREAD_TIMEOUT, 2^28 cycles) and would otherwise take a core from
     * the task timed next (measured: the expert was 20-35 % slower right after the raw sgemm than after an idle pause).
     */
    private static double[] interleavedMedians(double runSeconds, Runnable[] setUps, Runnable... tasks) {
        long budget = (long) (runSeconds * 1e9);
        long[] perRun = new long[tasks.length];
        for (int k = 0; k < tasks.length; k++) {
            setUps[k].run();
            long iterations = 0;
            long start = System.nanoTime();
            while (System.nanoTime() - start < budget || iterations < 3) {
                tasks[k].run();
                iterations++;
            }
            double perCall = (System.nanoTime() - start) / (double) iterations;
            perRun[k] = Math.max(1, (long) (budget / perCall));
        }
        double[][] samples = new double[tasks.length][RUNS];
        for (int r = 0; r < RUNS; r++) {
            for (int k = 0; k < tasks.length; k++) {
                setUps[k].run();
                long settle = System.nanoTime();
                while (System.nanoTime() - settle < SETTLE_SECONDS * 1e9) {
                    tasks[k].run();
                }
                long t0 = System.nanoTime();
                for (long i = 0; i < perRun[k]; i++) {
                    tasks[k].run();
                }
                samples[k][r] = (System.nanoTime() - t0) / 1e9 / perRun[k];
            }
        }
        double[] medians = new double[tasks.length];
        for (int k = 0; k < tasks.length; k++) {
            Arrays.sort(samples[k]);
            medians[k] = samples[k][RUNS / 2];
        }
        return medians;
    }

    private static float[] gaussian(SplittableRandom random, int n, double std) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (random.nextGaussian() * std);
        }
        return v;
    }
}
