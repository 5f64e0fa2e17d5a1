package io.moestreams.core.ffn;

import io.moestreams.core.config.Activation;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A Mixtral expert: out = w2 · (act(w1·x) ⊙ (w3·x)) (SwiGLU when act = silu), evaluated for n rows at once as
 * H1 = X·w1ᵀ, H3 = X·w3ᵀ, H1 = act(H1) ⊙ H3, Y = H1·w2ᵀ.
 */
public final class MixtralExpertFfn extends Nd4jExpertFfn {

    private INDArray w1;
    private INDArray w3;
    private INDArray w2;
    private final RowBuffer h1;
    private final RowBuffer h3;

    /**
     * @param w1 row-major [f, d] (PyTorch layout of {@code experts.{i}.w1.weight})
     * @param w3 row-major [f, d]
     * @param w2 row-major [d, f]
     */
    public MixtralExpertFfn(
            int expertId,
            int hiddenSize,
            int intermediateSize,
            Activation activation,
            float[] w1,
            float[] w3,
            float[] w2) {
        super(expertId, hiddenSize, intermediateSize, activation);
        this.w1 = weight("experts." + expertId + ".w1.weight", w1, intermediateSize, hiddenSize);
        this.w3 = weight("experts." + expertId + ".w3.weight", w3, intermediateSize, hiddenSize);
        this.w2 = weight("experts." + expertId + ".w2.weight", w2, hiddenSize, intermediateSize);
        this.h1 = new RowBuffer(intermediateSize);
        this.h3 = new RowBuffer(intermediateSize);
    }

    @Override
    void ensureHiddenCapacity(int rows) {
        h1.ensureCapacity(rows);
        h3.ensureCapacity(rows);
    }

    @Override
    void compute(INDArray x, INDArray y, int n) {
        INDArray a = h1.rows(n);
        INDArray b = h3.rows(n);
        gemmTransposedB(x, w1, a, 1.0);
        gemmTransposedB(x, w3, b, 1.0);
        double alpha = activate(a, n);
        multiplyInPlace(a, b);
        gemmTransposedB(a, w2, y, alpha);
    }

    @Override
    void releaseNative() {
        h1.close();
        h3.close();
        release(w1);
        release(w3);
        release(w2);
        w1 = null;
        w3 = null;
        w2 = null;
    }
}
