package io.moestreams.compute.ffn;

import io.moestreams.core.config.Activation;
import io.moestreams.core.ffn.ClampedSwigluWeights;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.transforms.strict.Sigmoid;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * A gpt-oss expert: G = min(X·gateᵀ + bg, limit), U = clamp(X·upᵀ + bu, -limit, limit),
 * H = (U + 1) ⊙ G ⊙ σ(alpha·G), Y = H·downᵀ + bd (modeling_gpt_oss.py, GptOssExperts).
 */
public final class ClampedSwigluFfn extends Nd4jExpertFfn {

    private INDArray gate;
    private INDArray up;
    private INDArray down;
    private INDArray gateBias;
    private INDArray upBias;
    private INDArray downBias;
    private final double alpha;
    private final double limit;
    private final RowBuffer g;
    private final RowBuffer u;
    private final RowBuffer s;

    public ClampedSwigluFfn(ClampedSwigluWeights w) {
        // the activation is the clamped SwiGLU below; SILU only names its family in toString
        super(w.ref(), w.hiddenSize(), w.intermediateSize(), Activation.SILU);
        int d = w.hiddenSize();
        int f = w.intermediateSize();
        String name = w.ref().toString();
        this.gate = weight(name + " gate", w.gate(), f, d);
        this.up = weight(name + " up", w.up(), f, d);
        this.down = weight(name + " down", w.down(), d, f);
        this.gateBias = weight(name + " gate bias", w.gateBias(), 1, f);
        this.upBias = weight(name + " up bias", w.upBias(), 1, f);
        this.downBias = weight(name + " down bias", w.downBias(), 1, d);
        this.alpha = w.alpha();
        this.limit = w.limit();
        this.g = new RowBuffer(f);
        this.u = new RowBuffer(f);
        this.s = new RowBuffer(f);
    }

    @Override
    void ensureHiddenCapacity(int rows) {
        g.ensureCapacity(rows);
        u.ensureCapacity(rows);
        s.ensureCapacity(rows);
    }

    @Override
    void compute(INDArray x, INDArray y, int n) {
        INDArray a = g.rows(n);
        INDArray b = u.rows(n);
        INDArray t = s.rows(n);
        gemmTransposedB(x, gate, a, 1.0);
        gemmTransposedB(x, up, b, 1.0);
        addBias(a, gateBias);
        addBias(b, upBias);
        Transforms.min(a, limit, false);
        Transforms.min(b, limit, false);
        Transforms.max(b, -limit, false);
        b.addi(1.0);
        a.muli(alpha, t);
        Nd4j.getExecutioner().exec(new Sigmoid(t, t));
        a.muli(t);
        multiplyInPlace(a, b);
        gemmTransposedB(a, down, y, 1.0);
        addBias(y, downBias);
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
        release(downBias);
        gate = null;
        up = null;
        down = null;
        gateBias = null;
        upBias = null;
        downBias = null;
    }
}
