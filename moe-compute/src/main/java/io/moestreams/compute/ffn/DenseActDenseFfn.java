package io.moestreams.compute.ffn;

import io.moestreams.core.ffn.DenseMlpWeights;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A SwitchTransformers expert (DenseActDense): out = wo · act(wi·x), evaluated for n rows at once as
 * H = act(X·wiᵀ), Y = H·woᵀ.
 */
public final class DenseActDenseFfn extends Nd4jExpertFfn {

    private INDArray wi;
    private INDArray wo;
    private final RowBuffer h;

    public DenseActDenseFfn(DenseMlpWeights w) {
        super(w.ref(), w.hiddenSize(), w.intermediateSize(), w.activation());
        String name = w.ref().toString();
        this.wi = weight(name + " wi", w.wi(), w.intermediateSize(), w.hiddenSize());
        this.wo = weight(name + " wo", w.wo(), w.hiddenSize(), w.intermediateSize());
        this.h = new RowBuffer(w.intermediateSize());
    }

    @Override
    void ensureHiddenCapacity(int rows) {
        h.ensureCapacity(rows);
    }

    @Override
    void compute(INDArray x, INDArray y, int n) {
        INDArray a = h.rows(n);
        gemmTransposedB(x, wi, a, 1.0);
        double alpha = activate(a, n);
        gemmTransposedB(a, wo, y, alpha);
    }

    @Override
    void releaseNative() {
        h.close();
        release(wi);
        release(wo);
        wi = null;
        wo = null;
    }
}
