package io.moestreams.compute.ffn;

import io.moestreams.core.ffn.GatedMlpWeights;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A gated MLP expert (mixtral w1/w3/w2, the qwen / deepseek / olmoe gate_proj/up_proj/down_proj, granitemoe's
 * input_linear halves): out = down · (act(gate·x + bg) ⊙ (up·x + bu)) + bd, evaluated for n rows at once as
 * G = X·gateᵀ, U = X·upᵀ, G = act(G) ⊙ U, Y = G·downᵀ (biases added as row vectors when present).
 */
public final class GatedExpertFfn extends Nd4jExpertFfn {

    private INDArray gate;
    private INDArray up;
    private INDArray down;
    private INDArray gateBias;
    private INDArray upBias;
    private INDArray downBias;
    private final RowBuffer g;
    private final RowBuffer u;

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
        this.g = new RowBuffer(f);
        this.u = new RowBuffer(f);
    }

    @Override
    void ensureHiddenCapacity(int rows) {
        g.ensureCapacity(rows);
        u.ensureCapacity(rows);
    }

    @Override
    void compute(INDArray x, INDArray y, int n) {
        INDArray a = g.rows(n);
        INDArray b = u.rows(n);
        gemmTransposedB(x, gate, a, 1.0);
        gemmTransposedB(x, up, b, 1.0);
        if (gateBias != null) {
            addBias(a, gateBias);
        }
        if (upBias != null) {
            addBias(b, upBias);
        }
        double alpha = activate(a, n);
        multiplyInPlace(a, b);
        gemmTransposedB(a, down, y, alpha);
        if (downBias != null) {
            addBias(y, downBias);
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
