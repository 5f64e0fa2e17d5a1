package io.moestreams.core.testing;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.Comparator;
import java.util.stream.IntStream;

/**
 * An independent, naive double-precision implementation of one MoE block of each Hugging Face family, written from
 * transformers 5.x's modeling code (see /work/notes/hf-families.md of the project notes): the oracle the
 * reference layer and the pipeline are compared against. Slow and simple: one token at a time, whole tensors.
 *
 * <p>Experts per token are listed in the order the families' docs define (descending router score, ties to the
 * lower index; deepseek_v3: descending bias-corrected score); a switch_transformers token over capacity has none.
 */
public final class NaiveHf {

    /** Output [S][d], experts per token, dropped positions (ascending). */
    public record Result(double[][] output, int[][] experts, int[] dropped) {}

    private NaiveHf() {}

    /** The MoE block of layer {@code layer} of the checkpoint in {@code dir} over one sequence. */
    public static Result forward(Path dir, String layer, float[][] tokens) {
        try (NaiveCheckpoint c = new NaiveCheckpoint(dir)) {
            String type = c.strCfg(null, "model_type");
            return switch (type) {
                case "mixtral", "qwen2_moe", "qwen3_moe", "olmoe" -> softmaxTopK(c, type, layer, tokens);
                case "deepseek_v3", "deepseek_v2" -> deepseek(c, type.equals("deepseek_v3"), layer, tokens);
                case "granitemoe", "gpt_oss" -> topKThenSoftmax(c, type, layer, tokens);
                case "switch_transformers" -> switchTransformers(c, layer, tokens);
                default -> throw new IllegalArgumentException("no naive block for " + type);
            };
        }
    }

    // ---- math ----

    static double[] x(float[] t) {
        double[] v = new double[t.length];
        for (int i = 0; i < t.length; i++) {
            v[i] = t[i];
        }
        return v;
    }

    /** W x for W [rows, cols] stored at offset. */
    static double[] mv(double[] w, int offset, int rows, int cols, double[] x) {
        double[] y = new double[rows];
        for (int r = 0; r < rows; r++) {
            double s = 0;
            for (int k = 0; k < cols; k++) {
                s += w[offset + r * cols + k] * x[k];
            }
            y[r] = s;
        }
        return y;
    }

    static double silu(double v) {
        return v / (1 + Math.exp(-v));
    }

    static double sigmoid(double v) {
        return 1 / (1 + Math.exp(-v));
    }

    static double[] softmax(double[] z) {
        double max = Arrays.stream(z).max().orElse(0);
        double[] p = new double[z.length];
        double sum = 0;
        for (int i = 0; i < z.length; i++) {
            p[i] = Math.exp(z[i] - max);
            sum += p[i];
        }
        for (int i = 0; i < z.length; i++) {
            p[i] /= sum;
        }
        return p;
    }

    /** Indices of the k largest values, descending, ties to the lower index. */
    static int[] topK(double[] v, int k) {
        return IntStream.range(0, v.length)
                .boxed()
                .sorted(Comparator.comparingDouble((Integer i) -> -v[i]).thenComparingInt(i -> i))
                .limit(k)
                .mapToInt(Integer::intValue)
                .toArray();
    }

    /** down · (silu(gate·x) ⊙ (up·x)) with [f,d], [f,d], [d,f] at the given element offsets. */
    static double[] gated(
            double[] gate, int go, double[] up, int uo, double[] down, int dof, int d, int f, double[] x) {
        double[] g = mv(gate, go, f, d, x);
        double[] u = mv(up, uo, f, d, x);
        double[] h = new double[f];
        for (int i = 0; i < f; i++) {
            h[i] = silu(g[i]) * u[i];
        }
        return mv(down, dof, d, f, h);
    }

    static void addScaled(double[] acc, double[] y, double w) {
        for (int i = 0; i < acc.length; i++) {
            acc[i] += w * y[i];
        }
    }

    private static Result result(double[][] out, int[][] experts) {
        int[] dropped = IntStream.range(0, experts.length)
                .filter(t -> experts[t].length == 0)
                .toArray();
        return new Result(out, experts, dropped);
    }

    // ---- families ----

    /** mixtral, qwen2_moe (+ sigmoid-gated shared expert), qwen3_moe, olmoe. */
    private static Result softmaxTopK(NaiveCheckpoint c, String type, String layer, float[][] tokens) {
        int d = c.intCfg(0, "hidden_size");
        int k = c.intCfg(0, "num_experts_per_tok");
        boolean mixtral = type.equals("mixtral");
        int e = c.intCfg(0, "num_local_experts", "num_experts");
        int f = mixtral || type.equals("olmoe")
                ? c.intCfg(0, "intermediate_size")
                : c.intCfg(0, "moe_intermediate_size");
        boolean norm = mixtral || c.boolCfg(false, "norm_topk_prob");
        String p = "model.layers." + layer + (mixtral ? ".block_sparse_moe." : ".mlp.");
        double[] router = c.tensor(p + "gate.weight");
        double[][][] w = new double[e][][];
        for (int i = 0; i < e; i++) {
            String b = p + "experts." + i + ".";
            w[i] = mixtral
                    ? new double[][] {c.tensor(b + "w1.weight"), c.tensor(b + "w3.weight"), c.tensor(b + "w2.weight")}
                    : new double[][] {
                        c.tensor(b + "gate_proj.weight"),
                        c.tensor(b + "up_proj.weight"),
                        c.tensor(b + "down_proj.weight")
                    };
        }
        boolean shared = type.equals("qwen2_moe");
        int fs = c.intCfg(0, "shared_expert_intermediate_size");
        double[][] sw = shared
                ? new double[][] {
                    c.tensor(p + "shared_expert.gate_proj.weight"),
                    c.tensor(p + "shared_expert.up_proj.weight"),
                    c.tensor(p + "shared_expert.down_proj.weight"),
                    c.tensor(p + "shared_expert_gate.weight")
                }
                : null;
        double[][] out = new double[tokens.length][];
        int[][] experts = new int[tokens.length][];
        for (int t = 0; t < tokens.length; t++) {
            double[] xt = x(tokens[t]);
            double[] prob = softmax(mv(router, 0, e, d, xt));
            int[] top = topK(prob, k);
            double sum = 0;
            for (int i : top) {
                sum += prob[i];
            }
            double[] acc = new double[d];
            for (int i : top) {
                double weight = norm ? prob[i] / sum : prob[i];
                addScaled(acc, gated(w[i][0], 0, w[i][1], 0, w[i][2], 0, d, f, xt), weight);
            }
            if (shared) {
                double g = sigmoid(mv(sw[3], 0, 1, d, xt)[0]);
                addScaled(acc, gated(sw[0], 0, sw[1], 0, sw[2], 0, d, fs, xt), g);
            }
            out[t] = acc;
            experts[t] = top;
        }
        return result(out, experts);
    }

    private static Result deepseek(NaiveCheckpoint c, boolean v3, String layer, float[][] tokens) {
        int d = c.intCfg(0, "hidden_size");
        int k = c.intCfg(0, "num_experts_per_tok");
        int e = c.intCfg(0, "n_routed_experts");
        int f = c.intCfg(0, "moe_intermediate_size");
        int nShared = c.intCfg(0, "n_shared_experts");
        int groups = c.intCfg(1, "n_group");
        int keepGroups = c.intCfg(1, "topk_group");
        double scale = c.doubleCfg(1.0, "routed_scaling_factor");
        boolean norm = v3 && c.boolCfg(true, "norm_topk_prob");
        boolean greedy = !v3 && c.strCfg("greedy", "topk_method").equals("greedy");
        String p = "model.layers." + layer + ".mlp.";
        double[] router = c.tensor(p + "gate.weight");
        double[] bias = v3 ? c.tensor(p + "gate.e_score_correction_bias") : new double[e];
        double[][][] w = new double[e][][];
        for (int i = 0; i < e; i++) {
            String b = p + "experts." + i + ".";
            w[i] = new double[][] {
                c.tensor(b + "gate_proj.weight"), c.tensor(b + "up_proj.weight"), c.tensor(b + "down_proj.weight")
            };
        }
        double[][] sw = nShared > 0
                ? new double[][] {
                    c.tensor(p + "shared_experts.gate_proj.weight"),
                    c.tensor(p + "shared_experts.up_proj.weight"),
                    c.tensor(p + "shared_experts.down_proj.weight")
                }
                : null;
        int per = e / groups;
        double[][] out = new double[tokens.length][];
        int[][] experts = new int[tokens.length][];
        for (int t = 0; t < tokens.length; t++) {
            double[] xt = x(tokens[t]);
            double[] z = mv(router, 0, e, d, xt);
            double[] score = new double[e];
            double[] choice = new double[e];
            if (v3) {
                for (int i = 0; i < e; i++) {
                    score[i] = sigmoid(z[i]);
                    choice[i] = score[i] + bias[i];
                }
            } else {
                score = softmax(z);
                choice = score.clone();
            }
            if (v3 || !greedy) {
                double[] groupScore = new double[groups];
                for (int g = 0; g < groups; g++) {
                    double[] members = Arrays.copyOfRange(choice, g * per, (g + 1) * per);
                    if (v3) {
                        int[] two = topK(members, 2);
                        groupScore[g] = members[two[0]] + members[two[1]];
                    } else {
                        groupScore[g] = Arrays.stream(members).max().orElseThrow();
                    }
                }
                boolean[] kept = new boolean[groups];
                for (int g : topK(groupScore, keepGroups)) {
                    kept[g] = true;
                }
                for (int i = 0; i < e; i++) {
                    if (!kept[i / per]) {
                        choice[i] = v3 ? Double.NEGATIVE_INFINITY : 0.0;
                    }
                }
            }
            int[] top = topK(choice, k);
            double sum = 0;
            for (int i : top) {
                sum += v3 ? score[i] : choice[i];
            }
            double[] acc = new double[d];
            for (int i : top) {
                double weight = v3 ? score[i] : choice[i];
                if (norm) {
                    weight /= sum + 1e-20;
                }
                addScaled(acc, gated(w[i][0], 0, w[i][1], 0, w[i][2], 0, d, f, xt), weight * scale);
            }
            if (sw != null) {
                addScaled(acc, gated(sw[0], 0, sw[1], 0, sw[2], 0, d, f * nShared, xt), 1.0);
            }
            out[t] = acc;
            experts[t] = top;
        }
        return result(out, experts);
    }

    /** granitemoe (stacked input_linear) and gpt_oss (bias, interleaved gate_up, clamped SwiGLU, MXFP4). */
    private static Result topKThenSoftmax(NaiveCheckpoint c, String type, String layer, float[][] tokens) {
        boolean gpt = type.equals("gpt_oss");
        int d = c.intCfg(0, "hidden_size");
        int k = c.intCfg(0, "num_experts_per_tok", "experts_per_token");
        int e = c.intCfg(0, "num_local_experts");
        int f = c.intCfg(0, "intermediate_size");
        String p = "model.layers." + layer + (gpt ? ".mlp." : ".block_sparse_moe.");
        double[] router = c.tensor(p + (gpt ? "router.weight" : "router.layer.weight"));
        double[] rbias = gpt ? c.tensor(p + "router.bias") : new double[e];
        double[] gateUp;
        double[] down;
        boolean mx = gpt && c.has(p + "experts.gate_up_proj_blocks");
        if (gpt) {
            // parameter layouts: gate_up [E, d, 2f] and down [E, f, d] (x @ W); MXFP4 stores the transposes
            gateUp = mx
                    ? transposeEach(c.mxfp4(p + "experts.gate_up_proj"), e, 2 * f, d)
                    : c.tensor(p + "experts.gate_up_proj");
            down = mx ? transposeEach(c.mxfp4(p + "experts.down_proj"), e, d, f) : c.tensor(p + "experts.down_proj");
        } else {
            gateUp = c.tensor(p + "input_linear.weight");
            down = c.tensor(p + "output_linear.weight");
        }
        double[] gub = gpt ? c.tensor(p + "experts.gate_up_proj_bias") : null;
        double[] db = gpt ? c.tensor(p + "experts.down_proj_bias") : null;
        double[][] out = new double[tokens.length][];
        int[][] experts = new int[tokens.length][];
        for (int t = 0; t < tokens.length; t++) {
            double[] xt = x(tokens[t]);
            double[] z = mv(router, 0, e, d, xt);
            for (int i = 0; i < e; i++) {
                z[i] += rbias[i];
            }
            int[] top = topK(z, k);
            double[] kept = new double[k];
            for (int r = 0; r < k; r++) {
                kept[r] = z[top[r]];
            }
            double[] weights = softmax(kept);
            double[] acc = new double[d];
            for (int r = 0; r < k; r++) {
                int i = top[r];
                double[] y;
                if (gpt) {
                    double[] gu = new double[2 * f];
                    for (int o = 0; o < 2 * f; o++) {
                        double s = gub[i * 2 * f + o];
                        for (int q = 0; q < d; q++) {
                            s += xt[q] * gateUp[(i * d + q) * 2 * f + o];
                        }
                        gu[o] = s;
                    }
                    double[] h = new double[f];
                    for (int j = 0; j < f; j++) {
                        double g = Math.min(gu[2 * j], 7.0);
                        double u = Math.max(-7.0, Math.min(gu[2 * j + 1], 7.0));
                        h[j] = (u + 1) * g * sigmoid(1.702 * g);
                    }
                    y = new double[d];
                    for (int o = 0; o < d; o++) {
                        double s = db[i * d + o];
                        for (int j = 0; j < f; j++) {
                            s += h[j] * down[(i * f + j) * d + o];
                        }
                        y[o] = s;
                    }
                } else {
                    y = gated(gateUp, i * 2 * f * d, gateUp, i * 2 * f * d + f * d, down, i * d * f, d, f, xt);
                }
                addScaled(acc, y, weights[r]);
            }
            out[t] = acc;
            experts[t] = top;
        }
        return result(out, experts);
    }

    /** [E, rows, cols] → [E, cols, rows]. */
    static double[] transposeEach(double[] a, int n, int rows, int cols) {
        double[] out = new double[a.length];
        for (int i = 0; i < n; i++) {
            for (int r = 0; r < rows; r++) {
                for (int q = 0; q < cols; q++) {
                    out[(i * cols + q) * rows + r] = a[(i * rows + r) * cols + q];
                }
            }
        }
        return out;
    }

    private static Result switchTransformers(NaiveCheckpoint c, String layer, float[][] tokens) {
        int d = c.intCfg(0, "d_model");
        int f = c.intCfg(0, "d_ff");
        int e = c.intCfg(0, "num_experts");
        int capacity = c.intCfg(64, "expert_capacity");
        String act = c.strCfg("relu", "dense_act_fn");
        String[] parts = layer.split("\\.");
        String p = parts[0] + ".block." + parts[1] + ".layer." + (parts[0].equals("encoder") ? 1 : 2) + ".mlp.";
        double[] router = c.tensor(p + "router.classifier.weight");
        int[] used = new int[e];
        double[][] out = new double[tokens.length][];
        int[][] experts = new int[tokens.length][];
        for (int t = 0; t < tokens.length; t++) {
            double[] xt = x(tokens[t]);
            double[] prob = softmax(mv(router, 0, e, d, xt));
            int best = topK(prob, 1)[0];
            out[t] = new double[d];
            if (++used[best] > capacity) {
                experts[t] = new int[0];
                continue;
            }
            String b = p + "experts.expert_" + best + ".";
            double[] h = mv(c.tensor(b + "wi.weight"), 0, f, d, xt);
            for (int i = 0; i < f; i++) {
                h[i] = act.equals("relu") ? Math.max(0, h[i]) : silu(h[i]);
            }
            addScaled(out[t], mv(c.tensor(b + "wo.weight"), 0, d, f, h), prob[best]);
            experts[t] = new int[] {best};
        }
        return result(out, experts);
    }
}
