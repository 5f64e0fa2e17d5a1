package io.moestreams.core.metrics;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.moestreams.core.config.MoeConfig;
import io.moestreams.core.config.Overflow;
import io.moestreams.core.config.RouterType;
import io.moestreams.core.routing.Assignment;
import io.moestreams.core.routing.CapacityPlanner;
import io.moestreams.core.routing.Router;
import io.moestreams.core.routing.RouterOutput;
import io.moestreams.core.routing.Routers;
import io.moestreams.core.routing.TestConfigs;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class BalanceMetricsTest {

    private static double naiveCv2(double[] v) {
        double mean = 0;
        for (double x : v) {
            mean += x / v.length;
        }
        double var = 0;
        for (double x : v) {
            var += (x - mean) * (x - mean) / v.length;
        }
        return mean == 0 ? 0 : var / (mean * mean);
    }

    /** Naive metrics straight from the definitions, returned as {importanceCv2, loadCv2, aux, zLoss, dropRate}. */
    private static double[] naive(List<RouterOutput> outs, List<Assignment> plans, int e, long[] loadOut) {
        double[] importance = new double[e];
        double[] load = new double[e];
        double[] top1 = new double[e];
        double zSum = 0;
        int tokens = 0;
        int dropped = 0;
        for (int i = 0; i < outs.size(); i++) {
            RouterOutput out = outs.get(i);
            Assignment plan = plans.get(i);
            for (int t = 0; t < out.seqLen(); t++) {
                tokens++;
                if (plan.experts()[t].length == 0) {
                    dropped++;
                }
                for (int x : plan.experts()[t]) {
                    load[x]++;
                }
                int argmax = 0;
                double expSum = 0;
                for (int x = 0; x < e; x++) {
                    importance[x] += out.probs()[t * e + x];
                    if (out.probs()[t * e + x] > out.probs()[t * e + argmax]) {
                        argmax = x;
                    }
                    expSum += Math.exp(out.logits()[t * e + x]);
                }
                // top-1 before capacity: the router's first choice (argmax p for expert choice)
                int first = out.final_() ? argmax : out.choices()[t][0];
                top1[first]++;
                zSum += Math.log(expSum) * Math.log(expSum);
            }
        }
        double aux = 0;
        for (int x = 0; x < e; x++) {
            aux += (top1[x] / tokens) * (importance[x] / tokens);
            loadOut[x] = (long) load[x];
        }
        return new double[] {naiveCv2(importance), naiveCv2(load), e * aux, zSum / tokens, (double) dropped / tokens};
    }

    private static void assertMatchesNaive(List<RouterOutput> outs, List<Assignment> plans, int e) {
        BalanceMetrics m = BalanceMetrics.of(outs, plans, e);
        long[] load = new long[e];
        double[] want = naive(outs, plans, e, load);
        assertArrayEquals(load, m.tokensPerExpert(), m.toString());
        assertEquals(want[0], m.importanceCv2(), 1e-9 * Math.max(1, want[0]), "importanceCv2");
        assertEquals(want[1], m.loadCv2(), 1e-9 * Math.max(1, want[1]), "loadCv2");
        assertEquals(want[2], m.auxLoss(), 1e-9, "auxLoss");
        assertEquals(want[3], m.zLoss(), 1e-9 * Math.max(1, want[3]), "zLoss");
        assertEquals(want[4], m.dropRate(), 1e-12, "dropRate");
        int tokens = outs.stream().mapToInt(RouterOutput::seqLen).sum();
        assertEquals(tokens, m.tokens());
        assertEquals(outs.size(), m.sequences());
    }

    @Test
    void matchesNaiveFormulasOnRandomBatchesForEveryPolicy() {
        // Given batches of three random sequences (S = 5, 33, 1), E = 4, under several routers and policies
        int e = 4;
        int d = 16;
        Random random = new Random(2024);
        float[] gate = new float[e * d];
        float[] noise = new float[e * d];
        for (int i = 0; i < gate.length; i++) {
            gate[i] = (float) (random.nextGaussian() * 2 / Math.sqrt(d));
            noise[i] = (float) (random.nextGaussian() / Math.sqrt(d));
        }
        List<float[]> sequences = new ArrayList<>();
        for (int s : new int[] {5, 33, 1}) {
            float[] h = new float[s * d];
            for (int i = 0; i < h.length; i++) {
                h[i] = (float) random.nextGaussian();
            }
            sequences.add(h);
        }
        List<MoeConfig> configs = List.of(
                TestConfigs.config(RouterType.TOPK_SOFTMAX, 2, e, d, 1.0, Overflow.DROP),
                TestConfigs.config(RouterType.TOPK_SOFTMAX, 1, e, d, 0.5, Overflow.REROUTE),
                TestConfigs.config(RouterType.SWITCH, 1, e, d, null, Overflow.NONE),
                TestConfigs.config(RouterType.NOISY_TOPK, 2, true, true, false, e, d, 1.25, Overflow.DROP, 9L),
                TestConfigs.config(RouterType.EXPERT_CHOICE, 1, e, d, 0.5, Overflow.DROP));
        for (MoeConfig config : configs) {
            Router router = Routers.create(config, gate, noise);
            List<RouterOutput> outs = new ArrayList<>();
            List<Assignment> plans = new ArrayList<>();
            for (float[] h : sequences) {
                RouterOutput out = router.route("b" + outs.size(), h, h.length / d);
                outs.add(out);
                plans.add(CapacityPlanner.plan(out, config));
            }
            // When the metrics are computed
            // Then they equal the naive formulas
            assertMatchesNaive(outs, plans, e);
        }
    }

    /** One token per row; logits given, p = softmax(logits) computed here; pass-through assignment. */
    private static RouterOutput output(double[][] logits, int[][] choices) {
        int s = logits.length;
        int e = logits[0].length;
        float[] z = new float[s * e];
        float[] p = new float[s * e];
        float[][] w = new float[s][];
        for (int t = 0; t < s; t++) {
            double total = 0;
            for (int x = 0; x < e; x++) {
                total += Math.exp(logits[t][x]);
            }
            for (int x = 0; x < e; x++) {
                z[t * e + x] = (float) logits[t][x];
                p[t * e + x] = (float) (Math.exp(logits[t][x]) / total);
            }
            w[t] = new float[choices[t].length];
        }
        return new RouterOutput(s, e, z, p, choices, w, false);
    }

    @Test
    void perfectBalanceGivesAuxLossOneAndZeroCoefficientsOfVariation() {
        // Given two tokens with zero logits (p = 1/2 each), one sent to each expert
        RouterOutput out = output(new double[][] {{0, 0}, {0, 0}}, new int[][] {{0}, {1}});
        Assignment plan =
                CapacityPlanner.plan(out, TestConfigs.config(RouterType.TOPK_SOFTMAX, 1, 2, 4, null, Overflow.NONE));
        // When
        BalanceMetrics m = BalanceMetrics.of(out, plan, 2);
        // Then aux = 2·(1/2·1/2 + 1/2·1/2) = 1, CV² = 0, z-loss = (ln 2)², nothing dropped
        assertEquals(1.0, m.auxLoss(), 1e-7);
        assertEquals(0.0, m.importanceCv2(), 1e-12);
        assertEquals(0.0, m.loadCv2(), 1e-12);
        assertEquals(Math.log(2) * Math.log(2), m.zLoss(), 1e-7);
        assertEquals(0.0, m.dropRate());
        assertArrayEquals(new long[] {1, 1}, m.tokensPerExpert());
    }

    @Test
    void allTokensOnOneExpertGiveLoadCv2OfEMinusOneAndCountDrops() {
        // Given 4 tokens with logits [10, 0, 0, 0] all choosing expert 0, and C = ceil(1·1·4/4) = 1 with drop
        double[][] logits = new double[4][];
        int[][] choices = new int[4][];
        for (int t = 0; t < 4; t++) {
            logits[t] = new double[] {10, 0, 0, 0};
            choices[t] = new int[] {0};
        }
        RouterOutput out = output(logits, choices);
        Assignment plan =
                CapacityPlanner.plan(out, TestConfigs.config(RouterType.TOPK_SOFTMAX, 1, 4, 4, 1.0, Overflow.DROP));
        // When
        BalanceMetrics m = BalanceMetrics.of(out, plan, 4);
        // Then: load [1,0,0,0]: mean 1/4, variance (9/16 + 3/16)/4 = 3/16, CV² = 3;
        // aux = 4·(f_0 = 1)·(P_0 = e^10/(e^10+3)); three of four tokens dropped
        double p0 = Math.exp(10) / (Math.exp(10) + 3);
        assertArrayEquals(new long[] {1, 0, 0, 0}, m.tokensPerExpert());
        assertEquals(3.0, m.loadCv2(), 1e-12);
        assertEquals(4 * p0, m.auxLoss(), 1e-6);
        assertEquals(3, m.droppedTokens());
        assertEquals(0.75, m.dropRate(), 1e-12);
        double lse = 10 + Math.log(1 + 3 * Math.exp(-10));
        assertEquals(lse * lse, m.zLoss(), 1e-4);
    }

    @Test
    void emptyBatchGivesZeros() {
        // Given / When
        BalanceMetrics m = BalanceMetrics.of(List.of(), List.of(), 3);
        // Then
        assertEquals(0, m.tokens());
        assertEquals(0.0, m.dropRate());
        assertEquals(0.0, m.auxLoss());
        assertArrayEquals(new long[3], m.tokensPerExpert());
    }

    @Test
    void rejectsMismatchedBatches() {
        // Given a 2-expert output
        RouterOutput out = output(new double[][] {{0, 1}}, new int[][] {{1}});
        Assignment plan =
                CapacityPlanner.plan(out, TestConfigs.config(RouterType.TOPK_SOFTMAX, 1, 2, 4, null, Overflow.NONE));
        // When / Then
        assertThrows(IllegalArgumentException.class, () -> BalanceMetrics.of(List.of(out), List.of(), 2));
        IllegalArgumentException ex =
                assertThrows(IllegalArgumentException.class, () -> BalanceMetrics.of(out, plan, 3));
        assertTrue(ex.getMessage().contains("numExperts"), ex.getMessage());
    }

    @Test
    void toStringIsCompactAndValueSemanticsCoverTheArray() {
        // Given two equal metrics built from distinct arrays
        long[] load = {1, 2, 3};
        BalanceMetrics a = new BalanceMetrics(3, 1, 6, 0, load, 0.1, 0.2, 1.0, 4.0, 0.0);
        BalanceMetrics b = new BalanceMetrics(3, 1, 6, 0, new long[] {1, 2, 3}, 0.1, 0.2, 1.0, 4.0, 0.0);
        load[0] = 99;
        // When / Then
        assertEquals(a, b);
        assertEquals(a.hashCode(), b.hashCode());
        assertEquals(1, a.tokensPerExpert()[0], "defensive copy");
        String text = a.toString();
        assertFalse(text.contains("[J") || text.contains("1, 2, 3"), text);
        assertTrue(text.startsWith("BalanceMetrics[") && text.length() < 200, text);
    }
}
