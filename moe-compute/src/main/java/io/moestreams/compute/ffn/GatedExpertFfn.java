package io.moestreams.compute.ffn;

import io.moestreams.core.ffn.GatedMlpWeights;
import org.bytedeco.javacpp.FloatPointer;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A gated MLP expert (mixtral w1/w3/w2, the qwen / deepseek / olmoe gate_proj/up_proj/down_proj, granitemoe's
 * input_linear halves): out = down · (act(gate·x + bg) ⊙ (up·x + bu)) + bd, evaluated for n rows at once as
 * G = X·gateᵀ, U = X·upᵀ, G = act(G) ⊙ U, Y = G·downᵀ (biases added per column when present), each product a
 * {@link FixedOrderGemm} per part, the element-wise ops split over the GEMM threads by column ranges.
 */
public final class GatedExpertFfn extends Nd4jExpertFfn {

    private INDArray gate;
    private INDArray up;
    private INDArray down;
    private INDArray gateBias;
    private INDArray upBias;
    private final float[] downBias;
    private final FloatPointer gateP;
    private final FloatPointer upP;
    private final FloatPointer downP;
    private final Panel g;
    private final Panel u;

    public GatedExpertFfn(GatedMlpWeights w) {
        super(w.ref(), w.hiddenSize(), w.intermediateSize(), w.activation());
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
        this.g = new Panel(f);
        this.u = new Panel(f);
    }

    @Override
    void ensureHiddenCapacity(int rows) {
        g.ensureCapacity(rows);
        u.ensureCapacity(rows);
    }

    @Override
    void compute(RowPlan plan, Sink sink) {
        int f = intermediateSize();
        int m = plan.total();
        gateAndUp(plan, gateP, upP, f, g, u);
        int calls = biasCalls(gateBias, upBias) + activationCalls() + 1;
        eachColumnRange(f, calls, (j0, columns) -> {
            INDArray a = g.columns(m, j0, columns);
            INDArray b = u.columns(m, j0, columns);
            addBiases(a, gateBias, b, upBias, j0);
            activate(a, m, j0, columns);
            a.muli(b);
        });
        projectOut(plan, g, downP, f, activationFactor(), downBias, sink);
    }

    @Override
    void releaseNative() {
        g.close();
        u.close();
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
