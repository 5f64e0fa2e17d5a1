package io.moestreams.compute.ffn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.moestreams.core.config.Activation;
import io.moestreams.core.ffn.ClampedSwigluWeights;
import io.moestreams.core.ffn.DenseMlpWeights;
import io.moestreams.core.ffn.ExpertRef;
import io.moestreams.core.ffn.GatedMlpWeights;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A row's output bits do not depend on the batch it is computed in: the same row computed alone (n = 1) and at any
 * position of batches of 1 … 513 rows of other rows, with any number of GEMM parts, gives identical bytes.
 */
class BatchInvarianceTest {

    private static final int[] BATCHES = {
        1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 33, 64, 100, 128, 129, 240, 241, 256, 257, 300, 512, 513
    };

    /** A named FFN factory over random weights of the given shape. */
    private record Case(String name, Supplier<Nd4jExpertFfn> ffn, int d) {
        @Override
        public String toString() {
            return name;
        }
    }

    static Stream<Arguments> experts() {
        List<Arguments> cases = new ArrayList<>();
        // shapes chosen to cover OpenBLAS's column tails (out % 12 in 0, 4..7, 8..11) and inner dims beyond its
        // K block (320 on Zen)
        int[][] shapes = {{24, 40}, {64, 128}, {100, 37}, {96, 680}, {512, 1408}};
        for (int[] s : shapes) {
            int d = s[0];
            int f = s[1];
            for (Activation a : Activation.values()) {
                cases.add(Arguments.of(
                        new Case("gated " + a.json() + " d=" + d + " f=" + f, () -> gated(d, f, a, false), d)));
            }
            cases.add(Arguments.of(
                    new Case("gated+bias silu d=" + d + " f=" + f, () -> gated(d, f, Activation.SILU, true), d)));
            cases.add(Arguments.of(new Case("dense relu d=" + d + " f=" + f, () -> dense(d, f, Activation.RELU), d)));
            cases.add(Arguments.of(new Case("dense gelu d=" + d + " f=" + f, () -> dense(d, f, Activation.GELU), d)));
            cases.add(Arguments.of(new Case("clamped swiglu d=" + d + " f=" + f, () -> clamped(d, f), d)));
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("experts")
    void aRowGivesTheSameBitsAloneAndInAnyBatch(Case c) {
        // Given an expert and a pool of rows, each computed alone (n = 1) with its gate weight
        int d = c.d();
        SplittableRandom random = new SplittableRandom(c.name().hashCode());
        int pool = 600;
        float[] rows = gaussian(random, pool * d, 2.0);
        float[] scale = gaussian(random, pool, 1.0);
        try (Nd4jExpertFfn ffn = c.ffn().get()) {
            float[][] alone = new float[pool][];
            for (int i = 0; i < pool; i++) {
                alone[i] = new float[d];
                ffn.forward(Arrays.copyOfRange(rows, i * d, (i + 1) * d), 1, new float[] {scale[i]}, alone[i]);
            }
            int offset = 0;
            for (int threads : new int[] {1, 3}) {
                ffn.parallelism(threads);
                for (int n : BATCHES) {
                    // When a batch of n of those rows (starting anywhere in the pool) is computed at once
                    offset = (offset + 37) % (pool - n + 1);
                    float[] batch = Arrays.copyOfRange(rows, offset * d, (offset + n) * d);
                    float[] s = Arrays.copyOfRange(scale, offset, offset + n);
                    float[] out = new float[n * d];
                    ffn.forward(batch, n, s, out);
                    // Then every row's output has exactly the bits it has alone
                    for (int r = 0; r < n; r++) {
                        assertSameBits(
                                alone[offset + r],
                                out,
                                r * d,
                                c + ", batch " + n + " in " + ffn.partsLastForward() + " part(s) on " + threads
                                        + " thread(s), row " + r);
                    }
                }
            }
        }
    }

    @Test
    void twoExpertsComputingConcurrentlyGiveTheBitsEachGivesAlone() throws Exception {
        // Given two experts (as two expert workers in one process) and their outputs for a batch computed one at a time
        SplittableRandom random = new SplittableRandom(8);
        int d = 64;
        int n = 300;
        float[] rows = gaussian(random, n * d, 1.0);
        try (Nd4jExpertFfn a = gated(d, 128, Activation.SILU, false);
                Nd4jExpertFfn b = dense(d, 200, Activation.GELU)) {
            float[] wantA = new float[n * d];
            float[] wantB = new float[n * d];
            a.forward(rows, n, null, wantA);
            b.forward(rows, n, null, wantB);
            // When both compute batches of other sizes at the same time, many times
            CompletableFuture<Void> fa = CompletableFuture.runAsync(() -> repeat(a, rows, wantA, d));
            CompletableFuture<Void> fb = CompletableFuture.runAsync(() -> repeat(b, rows, wantB, d));
            // Then every result equals the one computed alone (checked inside)
            fa.get();
            fb.get();
        }
    }

    private static void repeat(Nd4jExpertFfn ffn, float[] rows, float[] want, int d) {
        for (int k = 0; k < 40; k++) {
            int n = 1 + (k * 53) % 300;
            int from = (k * 7) % (300 - n + 1);
            float[] out = new float[n * d];
            ffn.forward(Arrays.copyOfRange(rows, from * d, (from + n) * d), n, null, out);
            for (int r = 0; r < n; r++) {
                float[] expected = Arrays.copyOfRange(want, (from + r) * d, (from + r + 1) * d);
                assertSameBits(expected, out, r * d, ffn + " concurrent batch " + n + " row " + r);
            }
        }
    }

    @Test
    void plansKeepEveryPartWithinOneOpenBlasBlockInAsFewBalancedPartsAsFit() {
        // Given / When plans for several batch sizes
        for (int n = 1; n <= 1100; n += 13) {
            RowPlan plan = RowPlan.of(n);
            // Then the parts cover the rows once, in order, each within one GEMM call's limit with guards
            int rows = 0;
            int bufferRows = 0;
            for (int p = 0; p < plan.parts(); p++) {
                assertEquals(rows, plan.first()[p]);
                assertEquals(bufferRows, plan.base()[p]);
                assertTrue(plan.height()[p] <= RowPlan.MAX_CALL_ROWS, plan.toString());
                assertEquals(0, plan.height()[p] % RowPlan.ALIGN, plan.toString());
                assertTrue(plan.height()[p] >= plan.count()[p] + 2 * RowPlan.GUARD, plan.toString());
                rows += plan.count()[p];
                bufferRows += plan.height()[p];
            }
            assertEquals(n, rows);
            assertEquals(bufferRows, plan.total());
            assertEquals((n + RowPlan.MAX_PART_ROWS - 1) / RowPlan.MAX_PART_ROWS, plan.parts(), plan.toString());
            int min = Arrays.stream(plan.count()).min().orElseThrow();
            int max = Arrays.stream(plan.count()).max().orElseThrow();
            assertTrue(max - min <= 1, "balanced: " + plan);
        }
    }

    private static void assertSameBits(float[] expected, float[] actual, int offset, String what) {
        for (int j = 0; j < expected.length; j++) {
            int want = Float.floatToRawIntBits(expected[j]);
            int got = Float.floatToRawIntBits(actual[offset + j]);
            if (want != got) {
                fail(what + ", value " + j + ": alone " + expected[j] + " (0x" + Integer.toHexString(want)
                        + "), in the batch " + actual[offset + j] + " (0x" + Integer.toHexString(got) + ")");
            }
        }
    }

    static Nd4jExpertFfn gated(int d, int f, Activation a, boolean biases) {
        SplittableRandom r = new SplittableRandom(d * 31L + f);
        return new GatedExpertFfn(new GatedMlpWeights(
                ExpertRef.routed(0),
                d,
                f,
                a,
                gaussian(r, f * d, 1 / Math.sqrt(d)),
                gaussian(r, f * d, 1 / Math.sqrt(d)),
                gaussian(r, d * f, 1 / Math.sqrt(f)),
                biases ? gaussian(r, f, 0.1) : null,
                biases ? gaussian(r, f, 0.1) : null,
                biases ? gaussian(r, d, 0.1) : null));
    }

    static Nd4jExpertFfn dense(int d, int f, Activation a) {
        SplittableRandom r = new SplittableRandom(d * 17L + f);
        return new DenseActDenseFfn(new DenseMlpWeights(
                ExpertRef.routed(1),
                d,
                f,
                a,
                gaussian(r, f * d, 1 / Math.sqrt(d)),
                gaussian(r, d * f, 1 / Math.sqrt(f))));
    }

    static Nd4jExpertFfn clamped(int d, int f) {
        SplittableRandom r = new SplittableRandom(d * 13L + f);
        return new ClampedSwigluFfn(new ClampedSwigluWeights(
                ExpertRef.routed(2),
                d,
                f,
                gaussian(r, f * d, 1 / Math.sqrt(d)),
                gaussian(r, f * d, 1 / Math.sqrt(d)),
                gaussian(r, d * f, 1 / Math.sqrt(f)),
                gaussian(r, f, 0.1),
                gaussian(r, f, 0.1),
                gaussian(r, d, 0.1),
                1.702,
                7.0));
    }

    static float[] gaussian(SplittableRandom random, int n, double std) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (random.nextGaussian() * std);
        }
        return v;
    }
}
