package io.moestreams.core.routing;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.moestreams.core.config.MoeConfig;
import io.moestreams.core.config.Overflow;
import io.moestreams.core.config.RouterType;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class CapacityPlannerTest {

    /** A hand-written router output; logits = ln p. */
    private static RouterOutput output(double[][] probs, int[][] choices, double[][] weights) {
        int s = probs.length;
        int e = probs[0].length;
        float[] p = new float[s * e];
        float[] z = new float[s * e];
        float[][] w = new float[s][];
        for (int t = 0; t < s; t++) {
            for (int x = 0; x < e; x++) {
                p[t * e + x] = (float) probs[t][x];
                z[t * e + x] = (float) Math.log(probs[t][x]);
            }
            w[t] = new float[weights[t].length];
            for (int j = 0; j < w[t].length; j++) {
                w[t][j] = (float) weights[t][j];
            }
        }
        return new RouterOutput(s, e, z, p, choices, w, false);
    }

    private static MoeConfig config(int topK, int numExperts, Double capacityFactor, Overflow overflow) {
        return TestConfigs.config(RouterType.TOPK_SOFTMAX, topK, numExperts, 4, capacityFactor, overflow);
    }

    private static void assertToken(Assignment a, int t, int[] experts, double[] weights) {
        assertArrayEquals(experts, a.experts()[t], "experts of token " + t);
        assertEquals(weights.length, a.weights()[t].length, "weights of token " + t);
        for (int j = 0; j < weights.length; j++) {
            assertEquals((float) weights[j], a.weights()[t][j], "weight " + j + " of token " + t);
        }
    }

    @Test
    void dropsOverflowTokensInPositionOrder() {
        // Given S = 4, E = 2, k = 1, capacity_factor 0.5: C = ceil(0.5·1·4/2) = 1;
        // tokens 0 and 1 want expert 0, tokens 2 and 3 want expert 1
        RouterOutput out = output(
                new double[][] {{0.9, 0.1}, {0.8, 0.2}, {0.3, 0.7}, {0.4, 0.6}},
                new int[][] {{0}, {0}, {1}, {1}},
                new double[][] {{0.9}, {0.8}, {0.7}, {0.6}});
        // When planned with drop
        Assignment a = CapacityPlanner.plan(out, config(1, 2, 0.5, Overflow.DROP));
        // Then the earlier position wins each expert's only slot: t0 -> e0, t2 -> e1; t1 and t3 are dropped
        assertEquals(1, a.capacity());
        assertToken(a, 0, new int[] {0}, new double[] {0.9});
        assertToken(a, 1, new int[] {}, new double[] {});
        assertToken(a, 2, new int[] {1}, new double[] {0.7});
        assertToken(a, 3, new int[] {}, new double[] {});
        assertArrayEquals(new int[] {1, 3}, a.dropped());
    }

    @Test
    void fillsAllFirstChoicesBeforeAnySecondChoiceAndKeepsWeightsUnnormalised() {
        // Given S = 4, E = 2, k = 2, capacity_factor 0.5: C = ceil(0.5·2·4/2) = 2;
        // choices t0 [0,1], t1 [0,1], t2 [1,0], t3 [0,1]
        RouterOutput out = output(
                new double[][] {{0.6, 0.4}, {0.7, 0.3}, {0.45, 0.55}, {0.8, 0.2}},
                new int[][] {{0, 1}, {0, 1}, {1, 0}, {0, 1}},
                new double[][] {{0.6, 0.4}, {0.7, 0.3}, {0.55, 0.45}, {0.8, 0.2}});
        // When planned with drop
        Assignment a = CapacityPlanner.plan(out, config(2, 2, 0.5, Overflow.DROP));
        // Then, by hand: first choices t0->e0 (1), t1->e0 (2), t2->e1 (1), t3->e0 full: dropped;
        // second choices t0->e1 (2), t1->e1 full, t2->e0 full, t3->e1 full.
        // (Filling token by token instead would keep t0 and t1 whole and drop t2 and t3 entirely.)
        assertEquals(2, a.capacity());
        assertToken(a, 0, new int[] {0, 1}, new double[] {0.6, 0.4});
        assertToken(a, 1, new int[] {0}, new double[] {0.7});
        assertToken(a, 2, new int[] {1}, new double[] {0.55});
        assertToken(a, 3, new int[] {}, new double[] {});
        assertArrayEquals(new int[] {3}, a.dropped());
        assertArrayEquals(new int[] {2, 2}, a.tokensPerExpert(2));
    }

    /** E = 3, S = 4, k = 1: t0, t1, t2 want expert 0, t3 wants expert 2. */
    private static RouterOutput threeExpertsFourTokens() {
        return output(
                new double[][] {{0.6, 0.3, 0.1}, {0.5, 0.2, 0.3}, {0.7, 0.2, 0.1}, {0.1, 0.1, 0.8}},
                new int[][] {{0}, {0}, {0}, {2}},
                new double[][] {{0.6}, {0.5}, {0.7}, {0.8}});
    }

    @Test
    void reroutesToHighestProbabilityExpertWithRoom() {
        // Given capacity_factor 0.75: C = ceil(0.75·1·4/3) = 1
        RouterOutput out = threeExpertsFourTokens();
        // When planned with reroute
        Assignment a = CapacityPlanner.plan(out, config(1, 3, 0.75, Overflow.REROUTE));
        // Then, by hand: t0 -> e0 (0.6); t1: e0 full, best free is e2 (p 0.3 > 0.2) -> e2 with weight 0.3;
        // t2: e0 full, e2 now full, e1 (p 0.2) -> e1 with weight 0.2; t3: e2 full, e0 and e1 full -> dropped
        assertEquals(1, a.capacity());
        assertToken(a, 0, new int[] {0}, new double[] {0.6});
        assertToken(a, 1, new int[] {2}, new double[] {0.3});
        assertToken(a, 2, new int[] {1}, new double[] {0.2});
        assertToken(a, 3, new int[] {}, new double[] {});
        assertArrayEquals(new int[] {3}, a.dropped());
    }

    @Test
    void dropPolicyOnTheSameInputDropsInsteadOfRerouting() {
        // Given the same output and C = 1
        RouterOutput out = threeExpertsFourTokens();
        // When planned with drop
        Assignment a = CapacityPlanner.plan(out, config(1, 3, 0.75, Overflow.DROP));
        // Then only t0 (e0) and t3 (e2) are served
        assertToken(a, 0, new int[] {0}, new double[] {0.6});
        assertToken(a, 3, new int[] {2}, new double[] {0.8});
        assertArrayEquals(new int[] {1, 2}, a.dropped());
    }

    @Test
    void rerouteNeverReusesAnExpertAlreadyChosenForTheToken() {
        // Given S = 3, E = 3, k = 2, capacity_factor 1: C = ceil(1·2·3/3) = 2; every token chooses [0, 1]
        RouterOutput out = output(
                new double[][] {{0.6, 0.3, 0.1}, {0.5, 0.4, 0.1}, {0.45, 0.35, 0.2}},
                new int[][] {{0, 1}, {0, 1}, {0, 1}},
                new double[][] {{0.6 / 0.9, 0.3 / 0.9}, {0.5 / 0.9, 0.4 / 0.9}, {0.45 / 0.8, 0.35 / 0.8}});
        // When planned with reroute
        Assignment a = CapacityPlanner.plan(out, config(2, 3, 1.0, Overflow.REROUTE));
        // Then, by hand: rank 0: t0->e0, t1->e0 (full), t2: e0 full -> e2 (0.2), e2 holds 1 of 2;
        // rank 1: t0->e1, t1->e1 (full), t2: e1 full; e2 still has room but already serves t2 -> dropped choice
        assertToken(a, 0, new int[] {0, 1}, new double[] {0.6 / 0.9, 0.3 / 0.9});
        assertToken(a, 1, new int[] {0, 1}, new double[] {0.5 / 0.9, 0.4 / 0.9});
        assertToken(a, 2, new int[] {2}, new double[] {0.2});
        assertArrayEquals(new int[] {}, a.dropped());
        assertArrayEquals(new int[] {2, 2, 1}, a.tokensPerExpert(3));
    }

    @Test
    void reroutedChoiceKeepsTheRankPositionOfTheChoiceItReplaces() {
        // Given S = 2, E = 4, k = 2, capacity_factor 1: C = ceil(1·2·2/4) = 1
        RouterOutput out = output(
                new double[][] {{0.5, 0.3, 0.1, 0.1}, {0.4, 0.1, 0.3, 0.2}},
                new int[][] {{0, 1}, {0, 2}},
                new double[][] {{0.5 / 0.8, 0.3 / 0.8}, {0.4 / 0.7, 0.3 / 0.7}});
        // When planned with reroute
        Assignment a = CapacityPlanner.plan(out, config(2, 4, 1.0, Overflow.REROUTE));
        // Then, by hand: rank 0: t0->e0; t1: e0 full, free and unchosen are e1 (0.1), e3 (0.2) -> e3 (0.2);
        // rank 1: t0->e1, t1->e2 (0.3/0.7). t1 lists the rerouted e3 first, where its first choice was.
        assertToken(a, 0, new int[] {0, 1}, new double[] {0.5 / 0.8, 0.3 / 0.8});
        assertToken(a, 1, new int[] {3, 2}, new double[] {0.2, 0.3 / 0.7});
        assertArrayEquals(new int[] {0}, a.positionsFor(0));
        assertArrayEquals(new int[] {1}, a.positionsFor(3));
        assertArrayEquals(new float[] {0.2f}, a.weightsFor(3));
        assertArrayEquals(new float[] {(float) (0.3 / 0.7)}, a.weightsFor(2));
    }

    @Test
    void rerouteBreaksProbabilityTiesToTheLowerExpertIndex() {
        // Given S = 2, E = 3, k = 1, capacity_factor 1: C = ceil(1·1·2/3) = 1; both tokens want e0;
        // for t1, e1 and e2 tie at p = 0.25
        RouterOutput out =
                output(new double[][] {{0.5, 0.25, 0.25}, {0.5, 0.25, 0.25}}, new int[][] {{0}, {0}}, new double[][] {
                    {0.5}, {0.5}
                });
        // When planned with reroute
        Assignment a = CapacityPlanner.plan(out, config(1, 3, 1.0, Overflow.REROUTE));
        // Then t1 goes to e1
        assertToken(a, 1, new int[] {1}, new double[] {0.25});
    }

    @Test
    void assignmentListsPositionsAndWeightsPerExpertInAscendingPositionOrder() {
        // Given the slot-order example (t0 [0,1], t1 [0], t2 [1], t3 dropped)
        RouterOutput out = output(
                new double[][] {{0.6, 0.4}, {0.7, 0.3}, {0.45, 0.55}, {0.8, 0.2}},
                new int[][] {{0, 1}, {0, 1}, {1, 0}, {0, 1}},
                new double[][] {{0.6, 0.4}, {0.7, 0.3}, {0.55, 0.45}, {0.8, 0.2}});
        // When planned
        Assignment a = CapacityPlanner.plan(out, config(2, 2, 0.5, Overflow.DROP));
        // Then each expert's positions are ascending with aligned weights
        assertArrayEquals(new int[] {0, 1}, a.positionsFor(0));
        assertArrayEquals(new float[] {0.6f, 0.7f}, a.weightsFor(0));
        assertArrayEquals(new int[] {0, 2}, a.positionsFor(1));
        assertArrayEquals(new float[] {0.4f, 0.55f}, a.weightsFor(1));
        assertThrows(IllegalArgumentException.class, () -> a.tokensPerExpert(1));
    }

    @Test
    void capacityFormulaGuardsAgainstFloatingPointError() {
        // Given factors whose double products land just above an integer
        // (0.1·3·10/3 = 1.0000000000000002, 0.2·3·20/2 = 6.000000000000001 in double arithmetic)
        // When / Then the capacity is the exact ceiling of the decimal formula
        assertEquals(5, CapacityPlanner.capacity(1.25, 2, 8, 4));
        assertEquals(1, CapacityPlanner.capacity(0.1, 3, 10, 3));
        assertEquals(6, CapacityPlanner.capacity(0.2, 3, 20, 2));
        assertEquals(9, CapacityPlanner.capacity(1.0, 2, 33, 8));
        for (double cf : new double[] {0.1, 0.2, 0.3, 0.5, 0.7, 1.0, 1.1, 1.2, 1.25, 1.5, 2.0, 3.3}) {
            for (int k = 1; k <= 3; k++) {
                for (int s = 1; s <= 64; s++) {
                    for (int e = 1; e <= 16; e++) {
                        assertEquals(
                                NaiveRouting.capacity(cf, k, s, e),
                                CapacityPlanner.capacity(cf, k, s, e),
                                "cf=" + cf + " k=" + k + " S=" + s + " E=" + e);
                    }
                }
            }
        }
    }

    @Test
    void withoutCapacityLimitOrWithOverflowNoneChoicesPassThrough() {
        // Given an output where every token wants expert 0
        RouterOutput out = threeExpertsFourTokens();
        for (MoeConfig config : List.of(
                config(1, 3, null, Overflow.DROP),
                config(1, 3, 0.0, Overflow.REROUTE),
                config(1, 3, -1.0, Overflow.DROP),
                config(1, 3, 0.75, Overflow.NONE))) {
            // When planned
            Assignment a = CapacityPlanner.plan(out, config);
            // Then nothing is dropped or moved, and the capacity is unlimited
            assertEquals(-1, a.capacity(), config.toString());
            assertEquals(0, a.dropped().length);
            for (int t = 0; t < 4; t++) {
                assertArrayEquals(out.choices()[t], a.experts()[t]);
                assertArrayEquals(out.weights()[t], a.weights()[t]);
                assertNotSame(out.choices()[t], a.experts()[t]);
            }
        }
    }

    @Test
    void expertChoiceOutputPassesThroughAndListsUntakenTokensAsDropped() {
        // Given expert choice with C = ceil(0.5·1·4/2) = 1, W = identity, a = [2, -1, 0.5, 3]:
        // expert 0 takes t3, expert 1 takes t1
        MoeConfig config = TestConfigs.config(RouterType.EXPERT_CHOICE, 1, 2, 2, 0.5, Overflow.REROUTE);
        RouterOutput out = Routers.create(config, new float[] {1, 0, 0, 1}, null)
                .route("r", new float[] {2, 0, -1, 0, 0.5f, 0, 3, 0}, 4);
        // When planned (even with reroute configured)
        Assignment a = CapacityPlanner.plan(out, config);
        // Then the router's decision is kept and t0, t2 are dropped
        assertEquals(1, a.capacity());
        assertArrayEquals(new int[] {0, 2}, a.dropped());
        assertArrayEquals(new int[] {1}, a.experts()[1]);
        assertArrayEquals(new int[] {0}, a.experts()[3]);
    }

    @Test
    void rejectsAnOutputForADifferentNumberOfExperts() {
        // Given a 3-expert output and a 4-expert config
        RouterOutput out = threeExpertsFourTokens();
        // When / Then
        IllegalArgumentException ex = assertThrows(
                IllegalArgumentException.class, () -> CapacityPlanner.plan(out, config(1, 4, 1.0, Overflow.DROP)));
        assertTrue(ex.getMessage().contains("num_experts"), ex.getMessage());
    }

    @Test
    void planMatchesNaiveReferenceForEveryRouterAndOverflowPolicyOnRandomShapes() {
        // Given random gates and sequences of several shapes, every router and several capacity factors
        int overflowed = 0;
        int rerouted = 0;
        for (int e : new int[] {2, 4, 8}) {
            for (int d : new int[] {4, 16, 64}) {
                for (int s : new int[] {1, 5, 33}) {
                    Random random = new Random(7L * e + 131L * d + 1031L * s);
                    float[] gate = NaiveRouting.randomMatrix(random, e, d, 1.5 / Math.sqrt(d));
                    float[] noise = NaiveRouting.randomMatrix(random, e, d, 1.0 / Math.sqrt(d));
                    float[] hidden = NaiveRouting.randomMatrix(random, s, d, 1.0);
                    for (MoeConfig base : routerConfigs(e, d)) {
                        for (Double cf : new Double[] {null, 0.5, 1.0, 1.1, 1.25, 2.0}) {
                            for (Overflow overflow : Overflow.values()) {
                                MoeConfig config = TestConfigs.config(
                                        base.router().type(),
                                        base.router().topK(),
                                        true,
                                        base.router().noise(),
                                        base.router().randomRouting(),
                                        e,
                                        d,
                                        cf,
                                        overflow,
                                        3L);
                                String context = "E=" + e + " d=" + d + " S=" + s + " " + config.router() + " cf=" + cf
                                        + " " + overflow;
                                RouterOutput out =
                                        Routers.create(config, gate, noise).route("x" + s, hidden, s);
                                // When planned
                                Assignment a = CapacityPlanner.plan(out, config);
                                // Then it equals the naive plan, and no expert exceeds C
                                NaiveRouting.Plan want = NaiveRouting.plan(out, config);
                                assertEquals(want.capacity, a.capacity(), context);
                                assertArrayEquals(
                                        want.dropped.stream()
                                                .mapToInt(Integer::intValue)
                                                .toArray(),
                                        a.dropped(),
                                        context);
                                for (int t = 0; t < s; t++) {
                                    assertArrayEquals(want.experts[t], a.experts()[t], context + " token " + t);
                                    float[] w = new float[want.weights[t].length];
                                    for (int j = 0; j < w.length; j++) {
                                        w[j] = (float) want.weights[t][j];
                                    }
                                    assertArrayEquals(w, a.weights()[t], context + " token " + t);
                                    if (!Arrays.equals(out.choices()[t], a.experts()[t])) {
                                        overflowed++;
                                    }
                                    for (int x : a.experts()[t]) {
                                        if (Arrays.stream(out.choices()[t]).noneMatch(c -> c == x)) {
                                            rerouted++;
                                        }
                                    }
                                }
                                if (a.capacity() >= 0) {
                                    for (int load : a.tokensPerExpert(e)) {
                                        assertTrue(load <= a.capacity(), context + " load " + load);
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        assertTrue(overflowed > 100 && rerouted > 100, "overflowed=" + overflowed + " rerouted=" + rerouted);
    }

    private static List<MoeConfig> routerConfigs(int e, int d) {
        List<MoeConfig> configs = new ArrayList<>();
        for (int k = 1; k <= Math.min(3, e); k++) {
            configs.add(TestConfigs.config(RouterType.TOPK_SOFTMAX, k, e, d, null, Overflow.NONE));
            configs.add(TestConfigs.config(RouterType.NOISY_TOPK, k, true, true, false, e, d, null, Overflow.NONE, 0L));
        }
        configs.add(TestConfigs.config(RouterType.SWITCH, 1, e, d, null, Overflow.NONE));
        configs.add(TestConfigs.config(RouterType.GSHARD_TOP2, 2, true, false, true, e, d, null, Overflow.NONE, 0L));
        configs.add(TestConfigs.config(RouterType.EXPERT_CHOICE, 2, e, d, null, Overflow.NONE));
        return configs;
    }
}
