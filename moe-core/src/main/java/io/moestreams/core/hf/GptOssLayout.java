package io.moestreams.core.hf;

import io.moestreams.core.config.ModelConfigException;
import io.moestreams.core.ffn.ClampedSwigluWeights;
import io.moestreams.core.ffn.ExpertRef;
import io.moestreams.core.ffn.ExpertWeights;
import io.moestreams.core.model.SafetensorsDtype;
import io.moestreams.core.quant.Mxfp4;
import java.util.List;

/**
 * gpt_oss experts (GptOssExperts): {@code experts.gate_up_proj [E, d, 2f]} in the {@code [in, out]} layout with
 * gate = even output columns and up = odd ones, {@code gate_up_proj_bias [E, 2f]}, {@code down_proj [E, f, d]}
 * ({@code [in, out]}), {@code down_proj_bias [E, d]}; or, as released, MXFP4 {@code gate_up_proj_blocks
 * [E, 2f, d/32, 16]} + {@code gate_up_proj_scales [E, 2f, d/32]} and {@code down_proj_blocks [E, d, f/32, 16]} +
 * {@code down_proj_scales} (already in the {@code [out, in]} layout once dequantized). Expert e reads only its
 * slices. Clamped SwiGLU with alpha 1.702 and limit 7 (hard-coded in transformers; config's swiglu_limit is ignored).
 */
public final class GptOssLayout implements ExpertLayout {

    /** GptOssExperts.alpha. */
    public static final double ALPHA = 1.702;
    /** GptOssExperts.limit. */
    public static final double LIMIT = 7.0;

    private final int count;
    private final int d;
    private final int f;
    private final String prefix;
    private final boolean mxfp4;

    /**
     * @param prefix e.g. {@code model.layers.1.mlp.experts.}
     * @param mxfp4  the weights are stored as {@code *_blocks} / {@code *_scales}
     */
    public GptOssLayout(int count, int hiddenSize, int intermediateSize, String prefix, boolean mxfp4) {
        this.count = count;
        this.d = hiddenSize;
        this.f = intermediateSize;
        this.prefix = prefix;
        this.mxfp4 = mxfp4;
        if (mxfp4 && (d % Mxfp4.GROUP != 0 || f % Mxfp4.GROUP != 0)) {
            throw new ModelConfigException(
                    prefix + "gate_up_proj_blocks",
                    "hidden_size and intermediate_size multiples of 32 for MXFP4",
                    d + " and " + f);
        }
    }

    @Override
    public int count() {
        return count;
    }

    @Override
    public int intermediateSize() {
        return f;
    }

    @Override
    public String describe() {
        return (mxfp4 ? "MXFP4 " : "") + "fused interleaved gate_up_proj + down_proj with biases";
    }

    private String n(String s) {
        return prefix + s;
    }

    @Override
    public void validate(WeightReader r, int index) {
        if (mxfp4) {
            r.store().requireShape(n("gate_up_proj_blocks"), count, 2L * f, d / Mxfp4.GROUP, Mxfp4.GROUP_BYTES);
            r.store().requireShape(n("gate_up_proj_scales"), count, 2L * f, d / Mxfp4.GROUP);
            r.store().requireShape(n("down_proj_blocks"), count, d, f / Mxfp4.GROUP, Mxfp4.GROUP_BYTES);
            r.store().requireShape(n("down_proj_scales"), count, d, f / Mxfp4.GROUP);
            for (String t :
                    new String[] {"gate_up_proj_blocks", "gate_up_proj_scales", "down_proj_blocks", "down_proj_scales"
                    }) {
                r.requireDtype(n(t), SafetensorsDtype.U8);
            }
        } else {
            r.validateFused(n("gate_up_proj"), count, d, 2 * f);
            r.validateFused(n("down_proj"), count, f, d);
        }
        r.validateVector(n("gate_up_proj_bias"), count, 2 * f);
        r.validateVector(n("down_proj_bias"), count, d);
    }

    @Override
    public List<TensorPart> parts(WeightReader r, int index) {
        if (mxfp4) {
            return List.of(
                    r.fusedPart(n("gate_up_proj_blocks"), count),
                    r.fusedPart(n("gate_up_proj_scales"), count),
                    r.fusedPart(n("gate_up_proj_bias"), count),
                    r.fusedPart(n("down_proj_blocks"), count),
                    r.fusedPart(n("down_proj_scales"), count),
                    r.fusedPart(n("down_proj_bias"), count));
        }
        return List.of(
                r.fusedPart(n("gate_up_proj"), count),
                r.fusedPart(n("gate_up_proj_bias"), count),
                r.fusedPart(n("down_proj"), count),
                r.fusedPart(n("down_proj_bias"), count));
    }

    @Override
    public ExpertWeights load(WeightReader r, ExpertRef ref) {
        int e = ref.index();
        validate(r, e);
        float[] gate = new float[f * d];
        float[] up = new float[f * d];
        float[] down;
        if (mxfp4) {
            float[] gu = dequantized(r, "gate_up_proj", e, 2 * f, d); // [2f, d] out x in
            for (int j = 0; j < f; j++) {
                System.arraycopy(gu, (2 * j) * d, gate, j * d, d);
                System.arraycopy(gu, (2 * j + 1) * d, up, j * d, d);
            }
            down = dequantized(r, "down_proj", e, d, f); // [d, f] out x in
        } else {
            float[] gu = r.fusedSlice(n("gate_up_proj"), e, count, d, 2 * f); // [d, 2f] in x out
            for (int i = 0; i < d; i++) {
                for (int j = 0; j < f; j++) {
                    gate[j * d + i] = gu[i * 2 * f + 2 * j];
                    up[j * d + i] = gu[i * 2 * f + 2 * j + 1];
                }
            }
            float[] dp = r.fusedSlice(n("down_proj"), e, count, f, d); // [f, d] in x out
            down = new float[d * f];
            for (int i = 0; i < f; i++) {
                for (int o = 0; o < d; o++) {
                    down[o * f + i] = dp[i * d + o];
                }
            }
        }
        float[] gub = r.vectorRow(n("gate_up_proj_bias"), e, count, 2 * f);
        float[] gateBias = new float[f];
        float[] upBias = new float[f];
        for (int j = 0; j < f; j++) {
            gateBias[j] = gub[2 * j];
            upBias[j] = gub[2 * j + 1];
        }
        float[] downBias = r.vectorRow(n("down_proj_bias"), e, count, d);
        return new ClampedSwigluWeights(ref, d, f, gate, up, down, gateBias, upBias, downBias, ALPHA, LIMIT);
    }

    /** Expert e of an MXFP4 pair: [rows, cols] with cols = groups·32. */
    private float[] dequantized(WeightReader r, String base, int e, int rows, int cols) {
        int groups = cols / Mxfp4.GROUP;
        int scaleBytes = rows * groups;
        byte[] blocks = r.store()
                .readBytes(
                        n(base + "_blocks"), (long) e * scaleBytes * Mxfp4.GROUP_BYTES, scaleBytes * Mxfp4.GROUP_BYTES);
        byte[] scales = r.store().readBytes(n(base + "_scales"), (long) e * scaleBytes, scaleBytes);
        return WeightReader.finite(n(base), Mxfp4.dequantize(n(base), blocks, scales, rows, groups), cols);
    }

    @Override
    public String toString() {
        return "GptOssLayout[" + prefix + ", experts=" + count + ", mxfp4=" + mxfp4 + "]";
    }
}
