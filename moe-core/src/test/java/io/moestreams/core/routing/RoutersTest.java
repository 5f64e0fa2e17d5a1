package io.moestreams.core.routing;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.moestreams.core.config.ModelConfigException;
import io.moestreams.core.config.MoeConfig;
import io.moestreams.core.config.Overflow;
import io.moestreams.core.config.RouterType;
import java.util.Arrays;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class RoutersTest {

    private static final double TOLERANCE = 1e-6;

    static Stream<Arguments> shapes() {
        Stream.Builder<Arguments> b = Stream.builder();
        for (int e : new int[] {2, 4, 8}) {
            for (int d : new int[] {4, 16, 64}) {
                for (int s : new int[] {1, 5, 33}) {
                    b.add(Arguments.of(e, d, s));
                }
            }
        }
        return b.build();
    }

    /** A random sequence and gate for one shape, reproducible from the shape. */
    private static final class Case {
        final float[] gate;
        final float[] noise;
        final float[] hidden;

        Case(int e, int d, int s) {
            Random random = new Random(31L * e + 1009L * d + 7919L * s);
            gate = NaiveRouting.randomMatrix(random, e, d, 1.5 / Math.sqrt(d));
            noise = NaiveRouting.randomMatrix(random, e, d, 1.0 / Math.sqrt(d));
            hidden = NaiveRouting.randomMatrix(random, s, d, 1.0);
        }
    }

    private static void assertMatchesNaive(NaiveRouting.Decision want, RouterOutput got, String context) {
        int e = got.numExperts();
        for (int t = 0; t < got.seqLen(); t++) {
            String at = context + " token " + t;
            for (int x = 0; x < e; x++) {
                assertEquals(
                        want.logits[t][x],
                        got.logits()[t * e + x],
                        1e-6 * Math.abs(want.logits[t][x]) + 1e-7,
                        at + " logit " + x);
                assertEquals(want.probs[t][x], got.probs()[t * e + x], TOLERANCE, at + " prob " + x);
            }
            assertArrayEquals(want.choices[t], got.choices()[t], at + " choices");
            assertEquals(want.weights[t].length, got.weights()[t].length, at + " weights");
            for (int j = 0; j < want.weights[t].length; j++) {
                assertEquals(want.weights[t][j], got.weights()[t][j], TOLERANCE, at + " weight " + j);
            }
        }
    }

    @ParameterizedTest(name = "E={0} d={1} S={2}")
    @MethodSource("shapes")
    void topkSoftmaxMatchesNaiveReferenceWithAndWithoutNormalisation(int e, int d, int s) {
        // Given random gate weights and tokens
        Case c = new Case(e, d, s);
        for (int k = 1; k <= Math.min(3, e); k++) {
            for (boolean normalize : new boolean[] {true, false}) {
                MoeConfig config = TestConfigs.config(
                        RouterType.TOPK_SOFTMAX, k, normalize, false, false, e, d, null, Overflow.NONE, 0L);
                // When the Mixtral router routes them
                RouterOutput out = Routers.create(config, c.gate, null).route("r", c.hidden, s);
                // Then choices, weights, logits and probabilities match the naive reference
                assertFalse(out.final_());
                assertMatchesNaive(
                        NaiveRouting.route(config, c.gate, null, "r", c.hidden, s),
                        out,
                        "k=" + k + " normalize=" + normalize);
            }
        }
    }

    @ParameterizedTest(name = "E={0} d={1} S={2}")
    @MethodSource("shapes")
    void switchRouterPicksArgmaxWithUnnormalisedProbability(int e, int d, int s) {
        // Given random gate weights and tokens
        Case c = new Case(e, d, s);
        MoeConfig config = TestConfigs.config(RouterType.SWITCH, 1, e, d, null, Overflow.NONE);
        // When the switch router routes them
        RouterOutput out = Routers.create(config, c.gate, null).route("r", c.hidden, s);
        // Then each token has the argmax expert with weight p (not 1.0)
        assertMatchesNaive(NaiveRouting.route(config, c.gate, null, "r", c.hidden, s), out, "switch");
    }

    @ParameterizedTest(name = "E={0} d={1} S={2}")
    @MethodSource("shapes")
    void noisyTopkWithoutNoiseMatchesNaiveReference(int e, int d, int s) {
        // Given random gate weights and noise off (no noise tensor needed)
        Case c = new Case(e, d, s);
        for (int k = 1; k <= Math.min(3, e); k++) {
            MoeConfig config =
                    TestConfigs.config(RouterType.NOISY_TOPK, k, true, false, false, e, d, null, Overflow.NONE, 5L);
            // When the noisy router routes them
            RouterOutput out = Routers.create(config, c.gate, null).route(null, c.hidden, s);
            // Then H = z and the weights are the softmax over the kept logits
            assertMatchesNaive(NaiveRouting.route(config, c.gate, null, null, c.hidden, s), out, "k=" + k);
        }
    }

    @ParameterizedTest(name = "E={0} d={1} S={2}")
    @MethodSource("shapes")
    void noisyTopkWithNoiseMatchesNaiveReferenceOnTheSameSeededDraws(int e, int d, int s) {
        // Given random gate and noise weights, noise on and a model seed
        Case c = new Case(e, d, s);
        for (int k = 1; k <= Math.min(3, e); k++) {
            MoeConfig config = TestConfigs.config(
                    RouterType.NOISY_TOPK, k, true, true, false, e, d, null, Overflow.NONE, 1234L + k);
            String requestId = "req-" + e + "-" + d + "-" + s;
            // When the noisy router routes them
            RouterOutput out = Routers.create(config, c.gate, c.noise).route(requestId, c.hidden, s);
            // Then H, the top-k of H, its softmax and probs = softmax(H) match the naive reference
            assertMatchesNaive(NaiveRouting.route(config, c.gate, c.noise, requestId, c.hidden, s), out, "k=" + k);
        }
    }

    @Test
    void noisyTopkReplaysIdenticallyForTheSameRequestAndDiffersForAnother() {
        // Given a noisy router with large noise, and two independently created instances of it
        int e = 8;
        int d = 16;
        int s = 33;
        Case c = new Case(e, d, s);
        float[] loudNoise = NaiveRouting.randomMatrix(new Random(3), e, d, 3.0);
        MoeConfig config =
                TestConfigs.config(RouterType.NOISY_TOPK, 2, true, true, false, e, d, null, Overflow.NONE, 99L);
        // When the same request is routed twice (two router instances) and another request once
        RouterOutput first = Routers.create(config, c.gate, loudNoise).route("request-A", c.hidden, s);
        RouterOutput replay = Routers.create(config, c.gate, loudNoise).route("request-A", c.hidden, s);
        RouterOutput other = Routers.create(config, c.gate, loudNoise).route("request-B", c.hidden, s);
        // Then the replay is bit-identical and the other request draws different noise
        assertArrayEquals(first.probs(), replay.probs());
        for (int t = 0; t < s; t++) {
            assertArrayEquals(first.choices()[t], replay.choices()[t]);
            assertArrayEquals(first.weights()[t], replay.weights()[t]);
        }
        assertFalse(Arrays.equals(first.probs(), other.probs()), "request-B must see different noise");
        assertArrayEquals(first.logits(), other.logits(), "the clean logits do not depend on the request");
    }

    @ParameterizedTest(name = "E={0} d={1} S={2}")
    @MethodSource("shapes")
    void gshardTop2MatchesNaiveReferenceWithAndWithoutRandomRouting(int e, int d, int s) {
        // Given random gate weights
        Case c = new Case(e, d, s);
        for (boolean random : new boolean[] {false, true}) {
            MoeConfig config =
                    TestConfigs.config(RouterType.GSHARD_TOP2, 2, true, false, random, e, d, null, Overflow.NONE, 77L);
            // When the GShard router routes them
            RouterOutput out = Routers.create(config, c.gate, null).route("g-" + s, c.hidden, s);
            // Then the top-2 renormalised weights (and the 2·g2 > u draw) match the naive reference
            assertMatchesNaive(
                    NaiveRouting.route(config, c.gate, null, "g-" + s, c.hidden, s), out, "random=" + random);
        }
    }

    @Test
    void gshardRandomRoutingSometimesKeepsOnlyTheFirstChoiceWithItsRenormalisedWeight() {
        // Given many tokens routed with random routing
        int e = 4;
        int d = 16;
        int s = 200;
        Random random = new Random(11);
        float[] gate = NaiveRouting.randomMatrix(random, e, d, 1.0 / Math.sqrt(d));
        float[] hidden = NaiveRouting.randomMatrix(random, s, d, 1.0);
        MoeConfig config =
                TestConfigs.config(RouterType.GSHARD_TOP2, 2, true, false, true, e, d, null, Overflow.NONE, 5L);
        // When they are routed
        RouterOutput out = Routers.create(config, gate, null).route("many", hidden, s);
        // Then both outcomes occur, and a single-choice token keeps g1' = g1/(g1+g2) < 1
        int single = 0;
        int both = 0;
        for (int t = 0; t < s; t++) {
            double[] p = NaiveRouting.softmax(NaiveRouting.logits(gate, e, d, hidden, s)[t]);
            int[] top = NaiveRouting.topK(p, 2);
            double g1 = p[top[0]] / (p[top[0]] + p[top[1]]);
            if (out.choices()[t].length == 1) {
                single++;
                assertEquals(top[0], out.choices()[t][0]);
                assertEquals(g1, out.weights()[t][0], TOLERANCE);
                assertTrue(g1 < 1.0);
            } else {
                both++;
            }
        }
        assertTrue(single > 0 && both > 0, "single=" + single + " both=" + both);
    }

    @ParameterizedTest(name = "E={0} d={1} S={2}")
    @MethodSource("shapes")
    void expertChoiceMatchesNaiveReferenceWithAndWithoutCapacity(int e, int d, int s) {
        // Given random gate weights
        Case c = new Case(e, d, s);
        for (int k = 1; k <= 3; k++) {
            for (Double cf : new Double[] {null, 0.5, 1.0, 1.1, 1.25, 2.0}) {
                MoeConfig config = TestConfigs.config(RouterType.EXPERT_CHOICE, k, e, d, cf, Overflow.DROP);
                // When the expert-choice router routes them
                RouterOutput out = Routers.create(config, c.gate, null).route("r", c.hidden, s);
                // Then each expert took the same tokens as in the naive reference, and the output is final
                assertTrue(out.final_());
                assertMatchesNaive(
                        NaiveRouting.route(config, c.gate, null, "r", c.hidden, s), out, "k=" + k + " cf=" + cf);
            }
        }
    }

    /** W = identity, x_t = (a_t, 0): z_t = (a_t, 0), p0 = sigmoid(a_t), p1 = 1 - p0. */
    private static RouterOutput expertChoiceOnSigmoids(Double capacityFactor) {
        float[] gate = {1, 0, 0, 1};
        float[] hidden = {2, 0, -1, 0, 0.5f, 0, 3, 0};
        MoeConfig config = TestConfigs.config(RouterType.EXPERT_CHOICE, 1, 2, 2, capacityFactor, Overflow.DROP);
        return Routers.create(config, gate, null).route("r", hidden, 4);
    }

    private static double sigmoid(double a) {
        return 1.0 / (1.0 + Math.exp(-a));
    }

    @Test
    void expertChoiceTakesTheHighestProbabilityTokensPerExpert() {
        // Given a = [2, -1, 0.5, 3]: p0 = [.881, .269, .622, .953], p1 = [.119, .731, .378, .047]
        // When C = ceil(0.5·1·4/2) = 1: expert 0 takes t3, expert 1 takes t1; t0 and t2 are taken by nobody
        RouterOutput one = expertChoiceOnSigmoids(0.5);
        // Then
        assertArrayEquals(new int[] {}, one.choices()[0]);
        assertArrayEquals(new int[] {1}, one.choices()[1]);
        assertArrayEquals(new int[] {}, one.choices()[2]);
        assertArrayEquals(new int[] {0}, one.choices()[3]);
        assertEquals(sigmoid(1), one.weights()[1][0], TOLERANCE);
        assertEquals(sigmoid(3), one.weights()[3][0], TOLERANCE);

        // When C = ceil(1·1·4/2) = 2: expert 0 takes t3, t0; expert 1 takes t1, t2
        RouterOutput two = expertChoiceOnSigmoids(1.0);
        // Then
        assertArrayEquals(new int[] {0}, two.choices()[0]);
        assertArrayEquals(new int[] {1}, two.choices()[1]);
        assertArrayEquals(new int[] {1}, two.choices()[2]);
        assertArrayEquals(new int[] {0}, two.choices()[3]);
        assertEquals(sigmoid(-0.5), two.weights()[2][0], TOLERANCE);

        // When there is no capacity factor, C = S = 4: every expert takes every token, ranked by descending p
        RouterOutput all = expertChoiceOnSigmoids(null);
        // Then
        assertArrayEquals(new int[] {0, 1}, all.choices()[0]);
        assertArrayEquals(new int[] {1, 0}, all.choices()[1]);
        assertArrayEquals(new int[] {0, 1}, all.choices()[2]);
        assertArrayEquals(new int[] {0, 1}, all.choices()[3]);
        assertEquals(sigmoid(1), all.weights()[1][0], TOLERANCE);
        assertEquals(sigmoid(-1), all.weights()[1][1], TOLERANCE);
    }

    @Test
    void expertChoiceBreaksTiesToTheLowerPositionAndLowerExpert() {
        // Given four identical tokens with p0 = p1 = 0.5 and C = ceil(1·1·4/2) = 2
        float[] gate = {1, 0, 0, 1};
        float[] hidden = {0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f};
        MoeConfig config = TestConfigs.config(RouterType.EXPERT_CHOICE, 1, 2, 2, 1.0, Overflow.DROP);
        // When routed
        RouterOutput out = Routers.create(config, gate, null).route("r", hidden, 4);
        // Then both experts take positions 0 and 1, ranked expert 0 first; positions 2 and 3 are left over
        assertArrayEquals(new int[] {0, 1}, out.choices()[0]);
        assertArrayEquals(new int[] {0, 1}, out.choices()[1]);
        assertArrayEquals(new int[] {}, out.choices()[2]);
        assertArrayEquals(new int[] {}, out.choices()[3]);
    }

    /** Gate rows chosen so that z = rowValues for x = (1, 1) (row i = (v_i, 0)). */
    private static float[] gateForLogits(float... rowValues) {
        float[] gate = new float[rowValues.length * 2];
        for (int i = 0; i < rowValues.length; i++) {
            gate[2 * i] = rowValues[i];
        }
        return gate;
    }

    @Test
    void topkSoftmaxBreaksTiesToTheLowerExpertIndex() {
        // Given z = [1, 0, 1, 0]: experts 0 and 2 tie for first, 1 and 3 tie for third
        float[] gate = gateForLogits(1, 0, 1, 0);
        float[] x = {1, 1};
        // When routed with k = 3
        RouterOutput out = Routers.create(
                        TestConfigs.config(RouterType.TOPK_SOFTMAX, 3, 4, 2, null, Overflow.NONE), gate, null)
                .route("r", x, 1);
        // Then the order is 0, 2, 1 with weights e/(2e+1), e/(2e+1), 1/(2e+1)
        assertArrayEquals(new int[] {0, 2, 1}, out.choices()[0]);
        double big = Math.E / (2 * Math.E + 1);
        assertEquals(big, out.weights()[0][0], TOLERANCE);
        assertEquals(big, out.weights()[0][1], TOLERANCE);
        assertEquals(1 / (2 * Math.E + 1), out.weights()[0][2], TOLERANCE);
    }

    @Test
    void switchGshardAndNoisyRoutersBreakTiesToTheLowerExpertIndex() {
        // Given z = [0, 1, 1, 1] for one token
        float[] gate = gateForLogits(0, 1, 1, 1);
        float[] x = {1, 1};
        // When routed by the switch, GShard and (noise-free) noisy top-2 routers
        RouterOutput sw = Routers.create(
                        TestConfigs.config(RouterType.SWITCH, 1, 4, 2, null, Overflow.NONE), gate, null)
                .route("r", x, 1);
        RouterOutput gs = Routers.create(
                        TestConfigs.config(RouterType.GSHARD_TOP2, 2, 4, 2, null, Overflow.NONE), gate, null)
                .route("r", x, 1);
        RouterOutput noisy = Routers.create(
                        TestConfigs.config(RouterType.NOISY_TOPK, 2, 4, 2, null, Overflow.NONE), gate, null)
                .route("r", x, 1);
        // Then the lowest tied indices win
        assertArrayEquals(new int[] {1}, sw.choices()[0]);
        assertEquals(Math.E / (3 * Math.E + 1), sw.weights()[0][0], TOLERANCE);
        assertArrayEquals(new int[] {1, 2}, gs.choices()[0]);
        assertArrayEquals(new float[] {0.5f, 0.5f}, gs.weights()[0]);
        assertArrayEquals(new int[] {1, 2}, noisy.choices()[0]);
        assertArrayEquals(new float[] {0.5f, 0.5f}, noisy.weights()[0]);
    }

    @Test
    void noisyTopkWithNoiseOnRequiresTheNoiseTensor() {
        // Given a noisy router config with noise on
        MoeConfig config =
                TestConfigs.config(RouterType.NOISY_TOPK, 2, true, true, false, 4, 8, null, Overflow.NONE, 0L);
        // When it is created without noise.weight
        ModelConfigException ex =
                assertThrows(ModelConfigException.class, () -> Routers.create(config, new float[32], null));
        // Then the error names the tensor
        assertEquals("noise.weight", ex.field());
        assertTrue(ex.getMessage().contains("noise.weight"), ex.getMessage());
    }

    @Test
    void rejectsWeightsOfTheWrongShapeNamingTheTensor() {
        // Given E = 4, d = 8 (32 values expected)
        MoeConfig mixtral = TestConfigs.config(RouterType.TOPK_SOFTMAX, 2, 4, 8, null, Overflow.NONE);
        MoeConfig sw = TestConfigs.config(RouterType.SWITCH, 1, 4, 8, null, Overflow.NONE);
        MoeConfig noisy =
                TestConfigs.config(RouterType.NOISY_TOPK, 2, true, true, false, 4, 8, null, Overflow.NONE, 0L);
        // When a tensor has 31 values, Then the message names tensor, expected and found sizes
        ModelConfigException gate =
                assertThrows(ModelConfigException.class, () -> Routers.create(mixtral, new float[31], null));
        assertEquals("gate.weight", gate.field());
        assertTrue(gate.getMessage().contains("[4,8]") && gate.getMessage().contains("31"), gate.getMessage());
        assertEquals(
                "router.classifier.weight",
                assertThrows(ModelConfigException.class, () -> Routers.create(sw, new float[31], null))
                        .field());
        assertEquals(
                "noise.weight",
                assertThrows(ModelConfigException.class, () -> Routers.create(noisy, new float[32], new float[31]))
                        .field());
        assertEquals(
                "gate.weight",
                assertThrows(ModelConfigException.class, () -> Routers.create(mixtral, null, null))
                        .field());
    }

    @Test
    void rejectsHiddenOfTheWrongLengthAndMissingRequestIdWhenSeeded() {
        // Given routers with d = 8
        Router router = Routers.create(
                TestConfigs.config(RouterType.TOPK_SOFTMAX, 2, 4, 8, null, Overflow.NONE), new float[32], null);
        Router seeded = Routers.create(
                TestConfigs.config(RouterType.GSHARD_TOP2, 2, true, false, true, 4, 8, null, Overflow.NONE, 0L),
                new float[32],
                null);
        // When / Then
        IllegalArgumentException ex =
                assertThrows(IllegalArgumentException.class, () -> router.route("r", new float[15], 2));
        assertTrue(ex.getMessage().contains("16"), ex.getMessage());
        assertThrows(IllegalArgumentException.class, () -> router.route("r", new float[0], 0));
        assertThrows(IllegalArgumentException.class, () -> seeded.route(null, new float[8], 1));
        assertEquals(4, router.numExperts());
        assertEquals(8, router.hiddenSize());
    }
}
