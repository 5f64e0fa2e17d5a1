package io.moestreams.compute.ffn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.moestreams.core.config.Activation;
import io.moestreams.core.config.ModelFormat;
import io.moestreams.core.ffn.DenseMlpWeights;
import io.moestreams.core.ffn.ExpertRef;
import io.moestreams.core.ffn.GatedMlpWeights;
import io.moestreams.core.testing.Naive;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.bytedeco.javacpp.Pointer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ops.executioner.OpExecutioner;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.profiler.OpProfiler;
import org.nd4j.linalg.profiler.ProfilerConfig;

class ExpertFfnTest {

    private static final int D = 24;
    private static final int F = 40;
    private static final double TOLERANCE = 1e-5;

    /** Weights and the FFN under test, with the naive oracle over the same weights. */
    private record Fixture(
            ModelFormat format, Activation activation, float[] w1, float[] w3, float[] w2, Nd4jExpertFfn ffn) {

        static Fixture create(ModelFormat format, Activation activation, long seed) {
            SplittableRandom random = new SplittableRandom(seed);
            float[] w1 = gaussian(random, F * D, 1.0 / Math.sqrt(D));
            float[] w3 = format == ModelFormat.MIXTRAL ? gaussian(random, F * D, 1.0 / Math.sqrt(D)) : null;
            float[] w2 = gaussian(random, D * F, 1.0 / Math.sqrt(F));
            Nd4jExpertFfn ffn = format == ModelFormat.MIXTRAL
                    ? new GatedExpertFfn(new GatedMlpWeights(ExpertRef.routed(3), D, F, activation, w1, w3, w2))
                    : new DenseActDenseFfn(new DenseMlpWeights(ExpertRef.routed(3), D, F, activation, w1, w2));
            return new Fixture(format, activation, w1, w3, w2, ffn);
        }

        /** Checks out (n rows) against the naive double implementation times scale. */
        void assertMatchesNaive(float[] rows, int n, float[] scale, float[] out) {
            for (int r = 0; r < n; r++) {
                Naive.ExpertResult expected = Naive.expert(format, activation, D, F, w1, w3, w2, Naive.row(rows, r, D));
                double s = scale == null ? 1.0 : scale[r];
                for (int i = 0; i < D; i++) {
                    double want = s * expected.value()[i];
                    double bound = TOLERANCE * Math.abs(s) * expected.errorScale()[i] + 1e-30;
                    double got = out[r * D + i];
                    assertTrue(
                            Math.abs(got - want) <= bound,
                            () -> format + "/" + activation + " row " + "of " + n + ": expected " + want + " +- "
                                    + bound + ", found " + got);
                }
            }
        }
    }

    static Stream<Arguments> formatsAndActivations() {
        List<Arguments> args = new ArrayList<>();
        for (ModelFormat f : ModelFormat.values()) {
            for (Activation a : Activation.values()) {
                args.add(Arguments.of(f, a));
            }
        }
        return args.stream();
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("formatsAndActivations")
    void matchesNaiveDoublePrecisionExpertAtSeveralBatchSizes(ModelFormat format, Activation activation) {
        // Given an expert with random weights
        Fixture fx = Fixture.create(format, activation, 11L * format.ordinal() + activation.ordinal());
        SplittableRandom random = new SplittableRandom(5);
        try (Nd4jExpertFfn ffn = fx.ffn()) {
            for (int n : new int[] {1, 2, 7, 33, 16, 1}) {
                // When a batch of n rows (values large enough to exercise the activation's tails) is run with gate
                // weights
                float[] rows = gaussian(random, n * D, 2.0);
                float[] scale = gaussian(random, n, 1.0);
                float[] out = new float[n * D];
                ffn.forward(rows, n, scale, out);
                // Then every row equals scale * expert(row) computed naively in double
                fx.assertMatchesNaive(rows, n, scale, out);
            }
        }
    }

    @Test
    void nullScaleMeansUnitGateWeights() {
        // Given a mixtral gelu expert
        Fixture fx = Fixture.create(ModelFormat.MIXTRAL, Activation.GELU, 3);
        try (Nd4jExpertFfn ffn = fx.ffn()) {
            float[] rows = gaussian(new SplittableRandom(1), 5 * D, 1.0);
            float[] out = new float[5 * D];
            // When run without scales
            ffn.forward(rows, 5, null, out);
            // Then the output is the unscaled expert
            fx.assertMatchesNaive(rows, 5, null, out);
        }
    }

    @Test
    void geluIsTheExactErfFormNotTheTanhApproximation() {
        // Given a switch gelu expert with identity-like weights so the activation shows through, d = f = 1
        try (DenseActDenseFfn ffn = new DenseActDenseFfn(
                new DenseMlpWeights(ExpertRef.routed(0), 1, 1, Activation.GELU, new float[] {1f}, new float[] {1f}))) {
            float[] out = new float[1];
            // When evaluated at x = -2.5, where the tanh approximation differs by ~4e-4 relative
            ffn.forward(new float[] {-2.5f}, 1, null, out);
            // Then the result matches 0.5 x (1 + erf(x / sqrt 2)) closely, not the approximation
            double exact = Naive.act(Activation.GELU, -2.5);
            double tanhApprox = 0.5 * -2.5 * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (-2.5 + 0.044715 * -15.625)));
            assertTrue(Math.abs(out[0] - exact) <= 1e-6 * Math.abs(exact), "exact " + exact + " found " + out[0]);
            assertTrue(Math.abs(tanhApprox - exact) > 1e-5 * Math.abs(exact), "the test point must separate them");
        }
    }

    @Test
    void reusesBuffersAndGrowsWhenABatchExceedsCapacity() {
        // Given a switch relu expert
        Fixture fx = Fixture.create(ModelFormat.SWITCH, Activation.RELU, 9);
        SplittableRandom random = new SplittableRandom(2);
        try (Nd4jExpertFfn ffn = fx.ffn()) {
            // When running a small batch
            run(fx, ffn, random, 5);
            int initial = ffn.rowCapacity();
            // Then a smaller batch reuses the buffers
            run(fx, ffn, random, 3);
            assertEquals(initial, ffn.rowCapacity());
            // And a larger batch grows them and is still correct, and then smaller batches still work
            run(fx, ffn, random, initial + 1);
            assertTrue(ffn.rowCapacity() >= initial + 1);
            int grown = ffn.rowCapacity();
            run(fx, ffn, random, 2);
            assertEquals(grown, ffn.rowCapacity());
        }
    }

    private static void run(Fixture fx, Nd4jExpertFfn ffn, SplittableRandom random, int n) {
        float[] rows = gaussian(random, n * D, 1.0);
        float[] scale = gaussian(random, n, 1.0);
        float[] out = new float[n * D];
        ffn.forward(rows, n, scale, out);
        fx.assertMatchesNaive(rows, n, scale, out);
    }

    @Test
    void issuesAConstantNumberOfNativeCallsPerRowPartWhateverTheBatchSize() {
        // Given a mixtral silu expert with one column chunk per GEMM (and ND4J's op profiler counting executed ops)
        Fixture fx = Fixture.create(ModelFormat.MIXTRAL, Activation.SILU, 4);
        SplittableRandom random = new SplittableRandom(3);
        OpExecutioner exec = Nd4j.getExecutioner();
        try (Nd4jExpertFfn ffn = fx.ffn()) {
            int[] sizes = {1, 97, 400};
            int[] parts = {1, 1, 2};
            int[] calls = new int[sizes.length];
            long[] ops = new long[sizes.length];
            for (int k = 0; k < sizes.length; k++) {
                int n = sizes[k];
                float[] rows = gaussian(random, n * D, 1.0);
                float[] scale = gaussian(random, n, 1.0);
                float[] out = new float[n * D];
                ffn.forward(rows, n, scale, out); // warm (allocations happen here)
                exec.setProfilingConfig(
                        ProfilerConfig.builder().checkElapsedTime(true).build());
                OpProfiler.getInstance().reset();
                try {
                    // When one forward of n rows runs
                    ffn.forward(rows, n, scale, out);
                } finally {
                    ops[k] = OpProfiler.getInstance().getInvocationsCount();
                    exec.setProfilingConfig(ProfilerConfig.builder().build());
                }
                calls[k] = ffn.nativeCallsLastForward();
                assertEquals(parts[k], ffn.partsLastForward());
            }
            // Then 1 row and 97 rows in one part issue the same small number of native calls and ND4J ops
            assertEquals(calls[0], calls[1]);
            assertTrue(calls[0] <= 9, "native calls per forward: " + calls[0]);
            assertTrue(ops[0] > 0, "the profiler counted the ops");
            assertEquals(ops[0], ops[1], "ND4J ops per forward");
            // And 400 rows (two parts) add the second part's copy-in (3 calls), gate/up task (2) and down task with its
            // copy-out (2), and no element-wise op
            assertEquals(calls[0] + 3 + 2 + 2, calls[2], "native calls with 2 parts");
            assertEquals(ops[0], ops[2], "ND4J ops per forward with 2 parts");
        }
    }

    @Test
    void runsInF32OutsideWorkspacesWithoutGrowingNativeMemory() {
        // Given a mixtral gelu expert, warmed up at its batch size
        Fixture fx = Fixture.create(ModelFormat.MIXTRAL, Activation.GELU, 6);
        SplittableRandom random = new SplittableRandom(4);
        try (Nd4jExpertFfn ffn = fx.ffn()) {
            int n = 8;
            float[] rows = gaussian(random, n * D, 1.0);
            float[] out = new float[n * D];
            for (int i = 0; i < 5; i++) {
                ffn.forward(rows, n, null, out);
            }
            long before = Pointer.totalBytes();
            // When many forwards run (alternating batch sizes below the capacity)
            for (int i = 0; i < 300; i++) {
                ffn.forward(rows, 1 + i % n, null, out);
            }
            long after = Pointer.totalBytes();
            // Then ND4J works in FLOAT, no workspace is left open, and off-heap memory did not grow with the calls
            assertEquals(DataType.FLOAT, Nd4j.dataType());
            assertFalse(Nd4j.getWorkspaceManager().anyWorkspaceActiveForCurrentThread());
            assertTrue(after - before < 256 * 1024, "native bytes grew by " + (after - before));
        }
    }

    @Test
    void configuresSingleThreadedBlasGemmPartsOnEveryCoreAndElementwiseOpsOnOneThread() {
        // Given / When ND4J is configured
        int threads = Nd4jSupport.configure();
        // Then the FFNs compute GEMM parts on the available cores, OpenBLAS itself on one thread (its own threads
        // would split rows at batch-dependent places) and libnd4j's element-wise ops on one thread (see Nd4jSupport)
        assertEquals(
                Integer.getInteger(
                        Nd4jSupport.THREADS_PROPERTY, Runtime.getRuntime().availableProcessors()),
                threads);
        assertEquals(threads, Nd4jSupport.parallelism());
        assertEquals(1, Nd4j.factory().blas().getMaxThreads());
        assertEquals(
                Integer.getInteger(Nd4jSupport.OP_THREADS_PROPERTY, 1),
                Nd4j.getEnvironment().maxMasterThreads());
    }

    @Test
    void rejectsBadArgumentsNamingThem() {
        // Given an expert
        Fixture fx = Fixture.create(ModelFormat.SWITCH, Activation.SILU, 8);
        try (Nd4jExpertFfn ffn = fx.ffn()) {
            // When / Then
            IllegalArgumentException n0 = assertThrows(
                    IllegalArgumentException.class, () -> ffn.forward(new float[D], 0, null, new float[D]));
            assertTrue(n0.getMessage().startsWith("n:"), n0.getMessage());
            IllegalArgumentException rows = assertThrows(
                    IllegalArgumentException.class, () -> ffn.forward(new float[D], 2, null, new float[2 * D]));
            assertTrue(rows.getMessage().startsWith("rows:"), rows.getMessage());
            IllegalArgumentException scale = assertThrows(
                    IllegalArgumentException.class,
                    () -> ffn.forward(new float[2 * D], 2, new float[1], new float[2 * D]));
            assertTrue(scale.getMessage().startsWith("scale:"), scale.getMessage());
            IllegalArgumentException weights = assertThrows(
                    IllegalArgumentException.class,
                    () -> new DenseMlpWeights(
                            ExpertRef.routed(0), D, F, Activation.SILU, new float[3], new float[D * F]));
            assertTrue(weights.getMessage().contains("expert 0 wi"), weights.getMessage());
        }
        assertThrows(IllegalStateException.class, () -> fx.ffn().forward(new float[D], 1, null, new float[D]));
    }

    static float[] gaussian(SplittableRandom random, int n, double std) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (random.nextGaussian() * std);
        }
        return v;
    }
}
