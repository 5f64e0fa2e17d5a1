package io.moestreams.compute.ffn;

import io.moestreams.core.ffn.DenseMlpWeights;
import org.bytedeco.javacpp.FloatPointer;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A SwitchTransformers expert (DenseActDense): out = wo · act(wi·x), evaluated for n rows at once as
 * H = act(X·wiᵀ), Y = H·woᵀ, each product a {@link FixedOrderGemm} per part, the activation split over the GEMM
 * threads by column ranges.
 */
public final class DenseActDenseFfn extends Nd4jExpertFfn {

    private INDArray wi;
    private INDArray wo;
    private final FloatPointer wiP;
    private final FloatPointer woP;
    private final Panel h;

    public DenseActDenseFfn(DenseMlpWeights w) {
        super(w.ref(), w.hiddenSize(), w.intermediateSize(), w.activation());
        String name = w.ref().toString();
        this.wi = weight(name + " wi", w.wi(), w.intermediateSize(), w.hiddenSize());
        this.wo = weight(name + " wo", w.wo(), w.hiddenSize(), w.intermediateSize());
        this.wiP = pointer(wi);
        this.woP = pointer(wo);
        this.h = new Panel(w.intermediateSize());
    }

    @Override
    void ensureHiddenCapacity(int rows) {
        h.ensureCapacity(rows);
    }

    @Override
    void compute(RowPlan plan, Sink sink) {
        int d = hiddenSize();
        int f = intermediateSize();
        int m = plan.total();
        eachTask(plan, f, 1, (p, c) -> FixedOrderGemm.rowsTimesWeights(plan, input(), wiP, d, f, h, 1f, p, c));
        eachColumnRange(f, activationCalls(), (j0, columns) -> activate(h.columns(m, j0, columns), m, j0, columns));
        projectOut(plan, h, woP, f, activationFactor(), null, sink);
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
