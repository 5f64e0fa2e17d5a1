package io.moestreams.compute.ffn;

import io.moestreams.core.ffn.GatedMlpWeights;
import org.bytedeco.javacpp.FloatPointer;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A gated MLP expert (mixtral w1/w3/w2, the qwen / deepseek / olmoe gate_proj/up_proj/down_proj, granitemoe's
 * input_linear halves): out = down · (act(gate·x + bg) ⊙ (up·x + bu)) + bd, evaluated for n rows at once as
 * G = X·gateᵀ, U = X·upᵀ, G = act(G) ⊙ U, Y = G·downᵀ (biases added per column when present), each product a
 * {@link FixedOrderGemm} per part.
 */
public final class GatedExpertFfn extends Nd4jExpertFfn {

    private INDArray gate;
    private INDArray up;
    private INDArray down;
    private INDArray gateBias;
    private INDArray upBias;
    private INDArray downBias;
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
        this.downBias = bias(name + " down bias", w.downBias(), d);
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
    void compute(RowPlan plan) {
        int d = hiddenSize();
        int f = intermediateSize();
        int m = plan.total();
        eachTask(plan, f, (p, c) -> {
            FixedOrderGemm.rowsTimesWeights(plan, input(), gateP, d, f, g, 1f, p, c);
            FixedOrderGemm.rowsTimesWeights(plan, input(), upP, d, f, u, 1f, p, c);
        });
        counted(plan.parts() * FixedOrderGemm.chunks(f));
        INDArray a = g.columnMajor(m);
        INDArray b = u.columnMajor(m);
        if (gateBias != null) {
            addBias(a, gateBias);
        }
        if (upBias != null) {
            addBias(b, upBias);
        }
        float alpha = activate(a, m);
        multiplyInPlace(a, b);
        eachTask(plan, d, (p, c) -> FixedOrderGemm.columnsTimesWeights(plan, g, downP, f, d, output(), alpha, p, c));
        if (downBias != null) {
            addBias(output().columnMajor(m), downBias);
        }
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
        release(downBias);
        gate = null;
        up = null;
        down = null;
        gateBias = null;
        upBias = null;
        downBias = null;
    }
}
