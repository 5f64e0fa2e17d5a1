package io.moestreams.core.reference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.moestreams.compute.ffn.Nd4jBackend;
import io.moestreams.core.config.Activation;
import io.moestreams.core.config.ModelFormat;
import io.moestreams.core.config.MoeConfig;
import io.moestreams.core.config.Overflow;
import io.moestreams.core.config.RouterConfig;
import io.moestreams.core.config.RouterType;
import io.moestreams.core.gen.ModelGenerator;
import io.moestreams.core.model.ExpertSelection;
import io.moestreams.core.model.ModelTensors;
import io.moestreams.core.model.MoeModel;
import io.moestreams.core.model.SafetensorsFile;
import io.moestreams.core.routing.Assignment;
import io.moestreams.core.testing.Naive;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ReferenceMoeLayerTest {

    private static final int D = 16;
    private static final int F = 24;
    private static final int E = 4;

    @TempDir
    Path dir;

    /** All weights of a model as float arrays, read straight from the file, for the naive layer. */
    private record Weights(MoeConfig config, float[] gate, float[][] w1, float[][] w3, float[][] w2) {
        static Weights read(Path modelDir, MoeConfig config) {
            try (SafetensorsFile st = SafetensorsFile.open(modelDir.resolve(MoeModel.WEIGHTS_FILE))) {
                float[][] w1 = new float[E][];
                float[][] w3 = new float[E][];
                float[][] w2 = new float[E][];
                for (int e = 0; e < E; e++) {
                    List<ModelTensors.Expected> t = ModelTensors.expert(config, e);
                    w1[e] = st.readF32(t.get(0).name());
                    if (config.format() == ModelFormat.MIXTRAL) {
                        w3[e] = st.readF32(t.get(1).name());
                        w2[e] = st.readF32(t.get(2).name());
                    } else {
                        w2[e] = st.readF32(t.get(1).name());
                    }
                }
                return new Weights(config, st.readF32(ModelTensors.gate(config).name()), w1, w3, w2);
            }
        }

        double[] expert(int e, double[] x) {
            return Naive.expert(config.format(), config.activation(), D, F, w1[e], w3[e], w2[e], x)
                    .value();
        }

        double[] expertErrorScale(int e, double[] x) {
            return Naive.expert(config.format(), config.activation(), D, F, w1[e], w3[e], w2[e], x)
                    .errorScale();
        }
    }

    /** The naive layer's routing of one sequence: experts and weights per token after capacity. */
    private record NaiveRouting(List<List<Integer>> experts, List<List<Double>> weights, List<Integer> dropped) {}

    /** Naive topk_softmax / switch routing in double, then GShard capacity with drop or reroute. */
    private static NaiveRouting naiveRoute(Weights w, float[] tokens, int s) {
        MoeConfig c = w.config();
        int k = c.router().topK();
        double[][] p = new double[s][];
        List<List<Integer>> choices = new ArrayList<>();
        List<List<Double>> gates = new ArrayList<>();
        for (int t = 0; t < s; t++) {
            double[] z = Naive.matVec(w.gate(), E, D, Naive.row(tokens, t, D));
            p[t] = Naive.softmax(z);
            boolean[] taken = new boolean[E];
            List<Integer> chosen = new ArrayList<>();
            for (int r = 0; r < k; r++) {
                int best = -1;
                for (int e = 0; e < E; e++) {
                    if (!taken[e] && (best < 0 || p[t][e] > p[t][best])) {
                        best = e;
                    }
                }
                taken[best] = true;
                chosen.add(best);
            }
            double sum = 0;
            for (int e : chosen) {
                sum += p[t][e];
            }
            List<Double> g = new ArrayList<>();
            for (int e : chosen) {
                boolean renormalise = c.router().type() == RouterType.TOPK_SOFTMAX
                        && c.router().normalize();
                g.add(renormalise ? p[t][e] / sum : p[t][e]);
            }
            choices.add(chosen);
            gates.add(g);
        }
        List<List<Integer>> experts = new ArrayList<>();
        List<List<Double>> weights = new ArrayList<>();
        for (int t = 0; t < s; t++) {
            experts.add(new ArrayList<>());
            weights.add(new ArrayList<>());
        }
        if (c.capacityLimit().isEmpty() || c.overflow() == Overflow.NONE) {
            experts = choices;
            weights = gates;
        } else {
            int capacity = (int) Math.ceil(c.capacityFactor() * k * s / E - 1e-9);
            int[] load = new int[E];
            List<List<Integer>> used = new ArrayList<>();
            for (int t = 0; t < s; t++) {
                used.add(new ArrayList<>(choices.get(t)));
            }
            for (int r = 0; r < k; r++) {
                for (int t = 0; t < s; t++) {
                    int e = choices.get(t).get(r);
                    double g = gates.get(t).get(r);
                    if (load[e] >= capacity) {
                        e = -1;
                        if (c.overflow() == Overflow.REROUTE) {
                            for (int x = 0; x < E; x++) {
                                if (!used.get(t).contains(x) && load[x] < capacity && (e < 0 || p[t][x] > p[t][e])) {
                                    e = x;
                                }
                            }
                        }
                        if (e < 0) {
                            continue;
                        }
                        used.get(t).add(e);
                        g = p[t][e];
                    }
                    load[e]++;
                    experts.get(t).add(e);
                    weights.get(t).add(g);
                }
            }
        }
        List<Integer> dropped = new ArrayList<>();
        for (int t = 0; t < s; t++) {
            if (experts.get(t).isEmpty()) {
                dropped.add(t);
            }
        }
        return new NaiveRouting(experts, weights, dropped);
    }

    /** Checks output[t] = Σ_j weight_j · expert_j(x_t) in double, within 1e-5 of the error scale. */
    private static void assertOutputMatchesNaiveCombine(
            Weights w, float[] tokens, int s, float[] output, List<List<Integer>> experts, List<List<Double>> weights) {
        for (int t = 0; t < s; t++) {
            double[] x = Naive.row(tokens, t, D);
            double[] want = new double[D];
            double[] scale = new double[D];
            for (int j = 0; j < experts.get(t).size(); j++) {
                int e = experts.get(t).get(j);
                double g = weights.get(t).get(j);
                double[] y = w.expert(e, x);
                double[] ys = w.expertErrorScale(e, x);
                for (int i = 0; i < D; i++) {
                    want[i] += g * y[i];
                    scale[i] += Math.abs(g) * ys[i];
                }
            }
            for (int i = 0; i < D; i++) {
                double bound = 1e-5 * scale[i];
                int tt = t;
                int ii = i;
                assertTrue(
                        Math.abs(output[t * D + i] - want[i]) <= bound,
                        () -> "output[" + tt + "][" + ii + "]: expected " + want[ii] + " +- " + bound + ", found "
                                + output[tt * D + ii]);
            }
        }
    }

    private static float[] tokens(long seed, int s) {
        SplittableRandom random = new SplittableRandom(seed);
        float[] v = new float[s * D];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) random.nextGaussian();
        }
        return v;
    }

    @Test
    void forcedRoutingWithTheLayersOwnRoutingGivesTheSameBits() throws IOException {
        // Given a layer with capacity (some tokens dropped) and its output for a sequence
        ModelGenerator.generate(
                dir,
                ModelFormat.MIXTRAL,
                D,
                F,
                E,
                new RouterConfig(RouterType.TOPK_SOFTMAX, 2, true, false, false),
                0.25,
                Overflow.DROP,
                Activation.SILU,
                "F32",
                23,
                "");
        try (MoeModel model = MoeModel.load(dir, ExpertSelection.all(), Nd4jBackend.INSTANCE)) {
            ReferenceMoeLayer layer = new ReferenceMoeLayer(model);
            float[] x = tokens(5, 19);
            LayerOutput routed = layer.forward("r", x, 19);
            assertTrue(routed.assignment().dropped().length > 0, "the test needs dropped tokens");
            // When the same sequence runs with that routing forced
            LayerOutput forced = layer.forward("r", x, 19, routed.assignment());
            // Then the output is bit for bit the same, with the same experts, weights and drops
            assertArrayEquals(bits(routed.output()), bits(forced.output()));
            assertArrayEquals(routed.assignment().experts(), forced.assignment().experts());
            assertArrayEquals(routed.assignment().dropped(), forced.assignment().dropped());
        }
    }

    @Test
    void forcedRoutingUsesTheGivenExpertsAndWeightsInsteadOfTheRouters() throws IOException {
        // Given a layer and a routing unlike its router's: per token two experts in a chosen order, odd weights, a
        // dropped token
        ModelGenerator.generateMixtral(dir, D, F, E, 29);
        try (MoeModel model = MoeModel.load(dir, ExpertSelection.all(), Nd4jBackend.INSTANCE)) {
            Weights w = Weights.read(dir, model.config());
            ReferenceMoeLayer layer = new ReferenceMoeLayer(model);
            int s = 6;
            float[] x = tokens(9, s);
            int[][] experts = new int[s][];
            float[][] weights = new float[s][];
            List<List<Integer>> naiveExperts = new ArrayList<>();
            List<List<Double>> naiveWeights = new ArrayList<>();
            for (int t = 0; t < s; t++) {
                experts[t] = t == 2 ? new int[0] : new int[] {(t + 3) % E, t % E == (t + 3) % E ? 0 : t % E};
                weights[t] = t == 2 ? new float[0] : new float[] {0.9f, -0.35f + t / 10f};
                List<Integer> ex = new ArrayList<>();
                List<Double> we = new ArrayList<>();
                for (int j = 0; j < experts[t].length; j++) {
                    ex.add(experts[t][j]);
                    we.add((double) weights[t][j]);
                }
                naiveExperts.add(ex);
                naiveWeights.add(we);
            }
            Assignment forced = new Assignment(s, experts, weights, new int[] {2}, -1);
            // When the sequence runs with it
            LayerOutput out = layer.forward("f", x, s, forced);
            // Then each token's output is the naive sum of its given experts times the given weights (0 when
            // dropped), and the router's own decision is still reported
            assertOutputMatchesNaiveCombine(w, x, s, out.output(), naiveExperts, naiveWeights);
            for (int i = 0; i < D; i++) {
                assertEquals(0.0f, out.output()[2 * D + i]);
            }
            assertArrayEquals(experts, out.assignment().experts());
            assertArrayEquals(
                    layer.forward("f", x, s).routing().choices(), out.routing().choices());
            // And a routing naming an expert the layer does not have is refused, naming the token and the rank
            experts[4] = new int[] {1, E};
            IllegalArgumentException e = assertThrows(
                    IllegalArgumentException.class,
                    () -> layer.forward("f", x, s, new Assignment(s, experts, weights, new int[] {2}, -1)));
            assertTrue(e.getMessage().contains("token 4 rank 1: expert " + E), e.getMessage());
        }
    }

    private static int[] bits(float[] v) {
        int[] b = new int[v.length];
        for (int i = 0; i < v.length; i++) {
            b[i] = Float.floatToRawIntBits(v[i]);
        }
        return b;
    }

    @ParameterizedTest(name = "{0} {1} k={2} cf={3} {4} {5}")
    @CsvSource({
        "MIXTRAL, TOPK_SOFTMAX, 2, , NONE, SILU, true",
        "MIXTRAL, TOPK_SOFTMAX, 2, 0.75, DROP, GELU, true",
        "MIXTRAL, TOPK_SOFTMAX, 2, 0.75, REROUTE, RELU, true",
        "MIXTRAL, TOPK_SOFTMAX, 3, 1.0, DROP, SILU, false",
        "SWITCH, SWITCH, 1, , NONE, RELU, true",
        "SWITCH, SWITCH, 1, 1.0, DROP, GELU, true",
        "SWITCH, SWITCH, 1, 1.0, REROUTE, SILU, true",
        "MIXTRAL, SWITCH, 1, 0.5, REROUTE, SILU, true"
    })
    void matchesAFullyNaiveMoeLayer(
            ModelFormat format,
            RouterType type,
            int topK,
            Double capacityFactor,
            Overflow overflow,
            Activation act,
            boolean normalize)
            throws IOException {
        // Given a random model
        ModelGenerator.generate(
                dir,
                format,
                D,
                F,
                E,
                new RouterConfig(type, topK, normalize, false, false),
                capacityFactor,
                overflow,
                act,
                "F32",
                17,
                "");
        try (MoeModel model = MoeModel.load(dir, ExpertSelection.all(), Nd4jBackend.INSTANCE)) {
            Weights w = Weights.read(dir, model.config());
            ReferenceMoeLayer layer = new ReferenceMoeLayer(model);
            int totalDropped = 0;
            for (int s : new int[] {1, 5, 23}) {
                float[] x = tokens(s * 31L, s);
                // When a sequence of s tokens runs through the layer
                LayerOutput out = layer.forward("r" + s, x, s);
                // Then routing after capacity equals the naive layer's, and so does the output
                NaiveRouting naive = naiveRoute(w, x, s);
                Assignment a = out.assignment();
                for (int t = 0; t < s; t++) {
                    assertEquals(
                            naive.experts().get(t),
                            Arrays.stream(a.experts()[t]).boxed().toList(),
                            "token " + t);
                    for (int j = 0; j < a.weights()[t].length; j++) {
                        assertEquals(naive.weights().get(t).get(j), a.weights()[t][j], 1e-6, "weight of token " + t);
                    }
                }
                assertEquals(naive.dropped(), Arrays.stream(a.dropped()).boxed().toList());
                assertOutputMatchesNaiveCombine(w, x, s, out.output(), naive.experts(), naive.weights());
                for (int t : a.dropped()) {
                    for (int i = 0; i < D; i++) {
                        assertEquals(0.0f, out.output()[t * D + i], "dropped token " + t + " outputs zeros");
                    }
                }
                totalDropped += a.dropped().length;
            }
            if (overflow == Overflow.DROP && type == RouterType.SWITCH) {
                assertTrue(totalDropped > 0, "the capacity case must actually drop tokens");
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({
        "NOISY_TOPK, 2, true, false, ",
        "GSHARD_TOP2, 2, true, true, 1.0",
        "EXPERT_CHOICE, 2, true, false, 1.0",
        "EXPERT_CHOICE, 1, true, false, "
    })
    void everyRouterTypeCombinesItsAssignmentExactlyAsDocumented(
            RouterType type, int topK, boolean normalize, boolean randomRouting, Double capacityFactor)
            throws IOException {
        // Given a model with this router (noise on for noisy top-k, random routing for gshard)
        ModelGenerator.generate(
                dir,
                ModelFormat.MIXTRAL,
                D,
                F,
                E,
                new RouterConfig(type, topK, normalize, type == RouterType.NOISY_TOPK, randomRouting),
                capacityFactor,
                capacityFactor == null ? Overflow.NONE : Overflow.DROP,
                Activation.SILU,
                "F32",
                5,
                "");
        try (MoeModel model = MoeModel.load(dir, ExpertSelection.all(), Nd4jBackend.INSTANCE)) {
            Weights w = Weights.read(dir, model.config());
            ReferenceMoeLayer layer = new ReferenceMoeLayer(model);
            int s = 19;
            float[] x = tokens(99, s);
            // When a sequence runs
            LayerOutput out = layer.forward("req-7", x, s);
            // Then the output is Σ weight · expert over the layer's own assignment (naive, double)
            List<List<Integer>> experts = new ArrayList<>();
            List<List<Double>> weights = new ArrayList<>();
            for (int t = 0; t < s; t++) {
                experts.add(Arrays.stream(out.assignment().experts()[t]).boxed().toList());
                List<Double> g = new ArrayList<>();
                for (float v : out.assignment().weights()[t]) {
                    g.add((double) v);
                }
                weights.add(g);
            }
            assertOutputMatchesNaiveCombine(w, x, s, out.output(), experts, weights);
            // And the same request id routes (and computes) identically again
            assertArrayEquals(out.output(), layer.forward("req-7", x, s).output());
        }
    }

    @Test
    void sumsContributionsInRankOrderStartingFromZero() throws IOException {
        // Given a top-3 model and a sequence
        ModelGenerator.generate(
                dir,
                ModelFormat.MIXTRAL,
                D,
                F,
                E,
                new RouterConfig(RouterType.TOPK_SOFTMAX, 3, true, false, false),
                null,
                Overflow.NONE,
                Activation.SILU,
                "F32",
                8,
                "");
        try (MoeModel model = MoeModel.load(dir, ExpertSelection.all(), Nd4jBackend.INSTANCE)) {
            ReferenceMoeLayer layer = new ReferenceMoeLayer(model);
            int s = 11;
            float[] x = tokens(5, s);
            // When the layer runs
            LayerOutput out = layer.forward("r", x, s);
            // Then every value equals, bit for bit, the distributed recipe: per expert one batch of its rows in
            // position order scaled by the gate weight, then 0.0f + c[0] + c[1] + c[2] in F32
            Assignment a = out.assignment();
            float[][][] contribution = new float[s][][];
            for (int t = 0; t < s; t++) {
                contribution[t] = new float[a.experts()[t].length][];
            }
            for (int e = 0; e < E; e++) {
                List<int[]> slots = new ArrayList<>();
                for (int t = 0; t < s; t++) {
                    for (int j = 0; j < a.experts()[t].length; j++) {
                        if (a.experts()[t][j] == e) {
                            slots.add(new int[] {t, j});
                        }
                    }
                }
                if (slots.isEmpty()) {
                    continue;
                }
                int n = slots.size();
                float[] rows = new float[n * D];
                float[] scale = new float[n];
                for (int r = 0; r < n; r++) {
                    System.arraycopy(x, slots.get(r)[0] * D, rows, r * D, D);
                    scale[r] = a.weights()[slots.get(r)[0]][slots.get(r)[1]];
                }
                float[] y = new float[n * D];
                model.expert(e).forward(rows, n, scale, y);
                for (int r = 0; r < n; r++) {
                    contribution[slots.get(r)[0]][slots.get(r)[1]] = Arrays.copyOfRange(y, r * D, (r + 1) * D);
                }
            }
            for (int t = 0; t < s; t++) {
                for (int i = 0; i < D; i++) {
                    float sum = 0.0f;
                    for (float[] c : contribution[t]) {
                        sum += c[i];
                    }
                    assertEquals(
                            Float.floatToIntBits(sum),
                            Float.floatToIntBits(out.output()[t * D + i]),
                            "output[" + t + "][" + i + "]");
                }
            }
        }
    }

    @Test
    void rejectsBadInputNamingTheFieldOrPosition() throws IOException {
        // Given a layer
        ModelGenerator.generateMixtral(dir, D, F, E, 3);
        try (MoeModel model = MoeModel.load(dir, ExpertSelection.all(), Nd4jBackend.INSTANCE)) {
            ReferenceMoeLayer layer = new ReferenceMoeLayer(model);
            float[] x = tokens(1, 3);
            // When / Then: hidden size mismatch, empty sequence, NaN and Inf with their positions
            IllegalArgumentException hidden =
                    assertThrows(IllegalArgumentException.class, () -> layer.forward("r", new float[3 * (D + 1)], 3));
            assertEquals(
                    "tokens: expected hidden size 16 (hidden_size of the model), found 17 values per token",
                    hidden.getMessage());
            IllegalArgumentException empty =
                    assertThrows(IllegalArgumentException.class, () -> layer.forward("r", new float[0], 0));
            assertTrue(empty.getMessage().contains("non-empty sequence"), empty.getMessage());
            x[2 * D + 5] = Float.NaN;
            IllegalArgumentException nan = assertThrows(IllegalArgumentException.class, () -> layer.forward("r", x, 3));
            assertEquals("tokens[2][5]: expected a finite value, found NaN", nan.getMessage());
            x[2 * D + 5] = 0f;
            x[7] = Float.NEGATIVE_INFINITY;
            IllegalArgumentException inf = assertThrows(IllegalArgumentException.class, () -> layer.forward("r", x, 3));
            assertEquals("tokens[0][7]: expected a finite value, found -Infinity", inf.getMessage());
            IllegalArgumentException count =
                    assertThrows(IllegalArgumentException.class, () -> layer.forward("r", new float[D * 2 + 1], 2));
            assertTrue(count.getMessage().startsWith("tokens: expected 2 x 16 = 32 values"), count.getMessage());
        }
    }

    @Test
    void needsEveryExpertLoaded() throws IOException {
        // Given a model loaded with a subset
        ModelGenerator.generateMixtral(dir, D, F, E, 3);
        try (MoeModel model = MoeModel.load(dir, ExpertSelection.of(0, 1), Nd4jBackend.INSTANCE)) {
            // When / Then
            IllegalArgumentException e =
                    assertThrows(IllegalArgumentException.class, () -> new ReferenceMoeLayer(model));
            assertTrue(e.getMessage().contains("needs all 4 experts"), e.getMessage());
        }
    }
}
