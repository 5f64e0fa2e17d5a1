package io.moestreams.compute.ffn;

import io.moestreams.core.config.Activation;
import io.moestreams.core.ffn.ExpertFfn;
import io.moestreams.core.ffn.ExpertRef;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.transforms.strict.Erf;
import org.nd4j.linalg.api.ops.impl.transforms.strict.Swish;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * Common part of the ND4J expert FFNs: F32 weights held as c-order INDArrays in their PyTorch {@code [out, in]}
 * layout (GEMMs use the transpose flag, no copy), off-heap row buffers allocated outside any workspace, reused
 * across calls and grown (doubling) when a batch exceeds their capacity.
 *
 * <p>A forward over n rows issues a fixed sequence of native calls whatever n is: one bulk copy in, the GEMM
 * chain, the activation ops, one broadcast multiply by the per-row gate weights, one bulk copy out
 * ({@link #nativeCallsLastForward()} reports the count). Not thread-safe.
 */
public abstract sealed class Nd4jExpertFfn implements ExpertFfn
        permits GatedExpertFfn, DenseActDenseFfn, ClampedSwigluFfn {

    private static final int INITIAL_ROWS = 16;
    private static final double INV_SQRT2 = 1.0 / Math.sqrt(2.0);
    private static final double SQRT_2_OVER_PI = Math.sqrt(2.0 / Math.PI);
    private static final double GELU_TANH_CUBIC = 0.044715;

    private final ExpertRef ref;
    private final int hiddenSize;
    private final int intermediateSize;
    private final Activation activation;
    private final RowBuffer input;
    private final RowBuffer output;
    private final RowBuffer scales;
    private final RowBuffer geluTmp;
    private int nativeCalls;
    private int lastNativeCalls;
    private boolean closed;

    Nd4jExpertFfn(ExpertRef ref, int hiddenSize, int intermediateSize, Activation activation) {
        if (ref == null) {
            throw new IllegalArgumentException("expert: expected a routed or shared expert, found nothing");
        }
        if (hiddenSize < 1 || intermediateSize < 1) {
            throw new IllegalArgumentException(
                    "hidden/intermediate size: expected >= 1, found " + hiddenSize + "/" + intermediateSize);
        }
        if (activation == null) {
            throw new IllegalArgumentException("activation: expected silu, relu, gelu or gelu_tanh, found nothing");
        }
        Nd4jSupport.configure();
        this.ref = ref;
        this.hiddenSize = hiddenSize;
        this.intermediateSize = intermediateSize;
        this.activation = activation;
        this.input = new RowBuffer(hiddenSize);
        this.output = new RowBuffer(hiddenSize);
        this.scales = new RowBuffer(1);
        this.geluTmp = activation == Activation.GELU || activation == Activation.GELU_TANH
                ? new RowBuffer(intermediateSize)
                : null;
    }

    @Override
    public final ExpertRef ref() {
        return ref;
    }

    @Override
    public final int hiddenSize() {
        return hiddenSize;
    }

    /** f. */
    public final int intermediateSize() {
        return intermediateSize;
    }

    public final Activation activation() {
        return activation;
    }

    /** Rows the preallocated buffers currently hold. */
    public final int rowCapacity() {
        return input.capacity();
    }

    /** Native (ND4J / JNI) calls issued by the last {@link #forward}; independent of the number of rows. */
    public final int nativeCallsLastForward() {
        return lastNativeCalls;
    }

    @Override
    public final void forward(float[] rows, int n, float[] scale, float[] out) {
        if (closed) {
            throw new IllegalStateException(ref + " is closed");
        }
        if (n < 1) {
            throw new IllegalArgumentException("n: expected >= 1 rows, found " + n);
        }
        long values = (long) n * hiddenSize;
        if (rows == null || rows.length < values) {
            throw new IllegalArgumentException("rows: expected at least " + values + " floats (" + n + " x "
                    + hiddenSize + "), found " + (rows == null ? "null" : rows.length));
        }
        if (out == null || out.length < values) {
            throw new IllegalArgumentException("out: expected at least " + values + " floats (" + n + " x " + hiddenSize
                    + "), found " + (out == null ? "null" : out.length));
        }
        if (scale != null && scale.length < n) {
            throw new IllegalArgumentException(
                    "scale: expected at least " + n + " gate weights, found " + scale.length);
        }
        ensureCapacity(n);
        nativeCalls = 0;
        input.put(rows, n);
        nativeCalls++;
        INDArray x = input.rows(n);
        INDArray y = output.rows(n);
        compute(x, y, n);
        if (scale != null) {
            scales.put(scale, n);
            y.muliColumnVector(scales.rows(n));
            nativeCalls += 2;
        }
        output.get(out, n);
        nativeCalls++;
        lastNativeCalls = nativeCalls;
    }

    private void ensureCapacity(int n) {
        int capacity = input.capacity();
        if (n <= capacity) {
            return;
        }
        int rows = Math.max(n, Math.max(INITIAL_ROWS, capacity * 2));
        input.ensureCapacity(rows);
        output.ensureCapacity(rows);
        scales.ensureCapacity(rows);
        if (geluTmp != null) {
            geluTmp.ensureCapacity(rows);
        }
        ensureHiddenCapacity(rows);
    }

    /** Grows the subclass's intermediate buffers to {@code rows} rows. */
    abstract void ensureHiddenCapacity(int rows);

    /** y[n, d] = expert(x[n, d]) (unscaled), using this class's helpers for the native calls. */
    abstract void compute(INDArray x, INDArray y, int n);

    /** c = alpha · a · bᵀ (b in PyTorch [out, in] layout). */
    final void gemmTransposedB(INDArray a, INDArray b, INDArray c, double alpha) {
        Nd4j.gemm(a, b, c, false, true, alpha, 0.0);
        nativeCalls++;
    }

    /** c += bias, broadcast over the rows (bias [1, cols]). */
    final void addBias(INDArray c, INDArray bias) {
        c.addiRowVector(bias);
        nativeCalls++;
    }

    /** a ⊙= b. */
    final void multiplyInPlace(INDArray a, INDArray b) {
        a.muli(b);
        nativeCalls++;
    }

    /**
     * Applies the activation to h in place, up to a constant factor that the caller passes as alpha to the next
     * GEMM: exact GELU is computed as h ⊙ (1 + erf(h/√2)) with the 0.5 folded into alpha (exact, a power of two).
     *
     * @return the factor still to apply (0.5 for gelu, 1 otherwise)
     */
    final double activate(INDArray h, int n) {
        switch (activation) {
            case SILU -> {
                Nd4j.getExecutioner().exec(new Swish(h, h));
                nativeCalls++;
                return 1.0;
            }
            case RELU -> {
                Transforms.relu(h, false);
                nativeCalls++;
                return 1.0;
            }
            case GELU -> {
                INDArray t = geluTmp.rows(n);
                h.muli(INV_SQRT2, t);
                Nd4j.getExecutioner().exec(new Erf(t, t));
                t.addi(1.0);
                h.muli(t);
                nativeCalls += 4;
                return 0.5;
            }
            case GELU_TANH -> {
                // 0.5·h·(1 + tanh(√(2/π)·(h + 0.044715·h³))), the 0.5 folded into alpha
                INDArray t = geluTmp.rows(n);
                h.mul(h, t);
                t.muli(h);
                t.muli(GELU_TANH_CUBIC);
                t.addi(h);
                t.muli(SQRT_2_OVER_PI);
                Transforms.tanh(t, false);
                t.addi(1.0);
                h.muli(t);
                nativeCalls += 8;
                return 0.5;
            }
            default -> throw new IllegalStateException("unknown activation " + activation);
        }
    }

    /** Creates an F32 c-order weight matrix [rows, cols] outside any workspace, checking the length. */
    static INDArray weight(String name, float[] values, int rows, int cols) {
        if (values == null || values.length != (long) rows * cols) {
            throw new IllegalArgumentException(name + ": expected " + ((long) rows * cols) + " values for shape ["
                    + rows + ", " + cols + "], found " + (values == null ? "null" : values.length));
        }
        INDArray w;
        MemoryWorkspace scope = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces();
        try {
            w = Nd4j.create(values, new long[] {rows, cols}, 'c');
        } finally {
            scope.close();
        }
        if (w.dataType() != DataType.FLOAT) {
            throw new IllegalStateException(name + ": expected an F32 INDArray, ND4J created " + w.dataType());
        }
        return w;
    }

    /** An optional F32 bias row [1, n] (null stays null). */
    static INDArray bias(String name, float[] values, int n) {
        return values == null ? null : weight(name, values, 1, n);
    }

    static void release(INDArray a) {
        if (a != null && a.closeable()) {
            a.close();
        }
    }

    /** Releases the subclass's weights and buffers. */
    abstract void releaseNative();

    @Override
    public final void close() {
        if (closed) {
            return;
        }
        closed = true;
        input.close();
        output.close();
        scales.close();
        if (geluTmp != null) {
            geluTmp.close();
        }
        releaseNative();
    }

    @Override
    public String toString() {
        return getClass().getSimpleName() + "[" + ref + ", d=" + hiddenSize + ", f=" + intermediateSize
                + ", activation=" + activation.json() + "]";
    }
}
