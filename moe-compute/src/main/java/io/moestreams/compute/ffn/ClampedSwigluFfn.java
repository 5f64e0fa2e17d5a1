package io.moestreams.compute.ffn;

import io.moestreams.core.config.Activation;
import io.moestreams.core.ffn.ClampedSwigluWeights;
import org.bytedeco.javacpp.FloatPointer;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.transforms.strict.Sigmoid;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * A gpt-oss expert: G = min(X·gateᵀ + bg, limit), U = clamp(X·upᵀ + bu, -limit, limit),
 * H = (U + 1) ⊙ G ⊙ σ(alpha·G), Y = H·downᵀ + bd (modeling_gpt_oss.py, GptOssExperts); each product a
 * {@link FixedOrderGemm} per part, the element-wise ops split over the GEMM threads by column ranges.
 */
public final class ClampedSwigluFfn extends Nd4jExpertFfn {

    private INDArray gate;
    private INDArray up;
    private INDArray down;
    private INDArray gateBias;
    private INDArray upBias;
    private final float[] downBias;
    private final FloatPointer gateP;
    private final FloatPointer upP;
    private final FloatPointer downP;
    private final double alpha;
    private final double limit;
    private final Panel g;
    private final Panel u;
    private final Panel s;

    public ClampedSwigluFfn(ClampedSwigluWeights w) {
        // the activation is the clamped SwiGLU below; SILU only names its family in toString
        super(w.ref(), w.hiddenSize(), w.intermediateSize(), Activation.SILU);
        int d = w.hiddenSize();
        int f = w.intermediateSize();
        String name = w.ref().toString();
        this.gate = weight(name + " gate", w.gate(), f, d);
        this.up = weight(name + " up", w.up(), f, d);
        this.down = weight(name + " down", w.down(), d, f);
        this.gateBias = bias(name + " gate bias", w.gateBias(), f);
        this.upBias = bias(name + " up bias", w.upBias(), f);
        this.downBias = w.downBias() == null ? null : w.downBias().clone();
        this.gateP = pointer(gate);
        this.upP = pointer(up);
        this.downP = pointer(down);
        this.alpha = w.alpha();
        this.limit = w.limit();
        this.g = new Panel(f);
        this.u = new Panel(f);
        this.s = new Panel(f);
    }

    @Override
    void ensureHiddenCapacity(int rows) {
        g.ensureCapacity(rows);
        u.ensureCapacity(rows);
        s.ensureCapacity(rows);
    }

    @Override
    void compute(RowPlan plan, Sink sink) {
        int f = intermediateSize();
        int m = plan.total();
        gateAndUp(plan, gateP, upP, f, g, u);
        int calls = biasCalls(gateBias, upBias) + 8;
        eachColumnRange(f, calls, (j0, columns) -> {
            INDArray a = g.columns(m, j0, columns);
            INDArray b = u.columns(m, j0, columns);
            INDArray t = s.columns(m, j0, columns);
            addBiases(a, gateBias, b, upBias, j0);
            Transforms.min(a, limit, false);
            Transforms.min(b, limit, false);
            Transforms.max(b, -limit, false);
            b.addi(1.0);
            a.muli(alpha, t);
            Nd4j.getExecutioner().exec(new Sigmoid(t, t));
            a.muli(t);
            a.muli(b);
        });
        projectOut(plan, g, downP, f, 1f, downBias, sink);
    }

    @Override
    void releaseNative() {
        g.close();
        u.close();
        s.close();
        release(gate);
        release(up);
        release(down);
        release(gateBias);
        release(upBias);
        gate = null;
        up = null;
        down = null;
        gateBias = null;
        upBias = null;
    }
}
