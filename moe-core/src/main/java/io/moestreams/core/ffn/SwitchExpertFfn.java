package io.moestreams.core.ffn;

import io.moestreams.core.config.Activation;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A SwitchTransformers expert: out = wo · act(wi·x), evaluated for n rows at once as H = act(X·wiᵀ), Y = H·woᵀ.
 */
public final class SwitchExpertFfn extends Nd4jExpertFfn {

    private INDArray wi;
    private INDArray wo;
    private final RowBuffer h;

    /**
     * @param wi row-major [f, d] (PyTorch layout of {@code experts.expert_{i}.wi.weight})
     * @param wo row-major [d, f]
     */
    public SwitchExpertFfn(
            int expertId, int hiddenSize, int intermediateSize, Activation activation, float[] wi, float[] wo) {
        super(expertId, hiddenSize, intermediateSize, activation);
        this.wi = weight("experts.expert_" + expertId + ".wi.weight", wi, intermediateSize, hiddenSize);
        this.wo = weight("experts.expert_" + expertId + ".wo.weight", wo, hiddenSize, intermediateSize);
        this.h = new RowBuffer(intermediateSize);
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
