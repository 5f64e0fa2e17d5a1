package io.moestreams.compute.ffn;

import io.moestreams.core.config.Activation;
import io.moestreams.core.ffn.ExpertFfn;
import io.moestreams.core.ffn.ExpertRef;
import org.bytedeco.javacpp.FloatPointer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.transforms.strict.Erf;
import org.nd4j.linalg.api.ops.impl.transforms.strict.Swish;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * Common part of the ND4J expert FFNs: F32 weights held as c-order INDArrays in their PyTorch {@code [out, in]}
 * layout, off-heap buffers allocated outside any workspace, reused across calls and grown (doubling) when a batch
 * exceeds their capacity.
 *
 * <p><b>Bit-exact and batch-invariant:</b> the output bits of row i depend only on {@code rows[i]}, {@code scale[i]}
 * and the weights — not on n, on the other rows or on i. The rows are laid out by a {@link RowPlan} (zero guard rows
 * around each part), every matrix product is a {@link FixedOrderGemm} part, the element-wise ops work value by value
 * and the output bias and the gate weight are applied in Java (one F32 addition, one F32 multiplication) while the
 * rows are copied out. So an expert worker's micro-batch of many requests computes each request's rows exactly as
 * {@code moe reference} computes them alone (docs/architecture.md, "Bit-exact outputs").
 *
 * <p>A forward over n rows is a fixed sequence of concurrent steps: GEMM tasks, each one (part, column chunk) of a
 * product (see {@link FixedOrderGemm}); the element-wise ops over the hidden layer, split into one contiguous range of
 * whole column chunks per GEMM thread (one ND4J op per range and op, so their per-call cost does not grow with the
 * batch); and the output product, whose tasks also copy their block out. So the element-wise work runs on every GEMM
 * thread, and the native calls per forward depend only on the parts and the weights' shapes ({@link
 * #nativeCallsLastForward()} reports them). Not thread-safe.
 */
public abstract sealed class Nd4jExpertFfn implements ExpertFfn
        permits GatedExpertFfn, DenseActDenseFfn, ClampedSwigluFfn {

    private static final int INITIAL_ROWS = 32;
    private static final double INV_SQRT2 = 1.0 / Math.sqrt(2.0);
    private static final double SQRT_2_OVER_PI = Math.sqrt(2.0 / Math.PI);
    private static final double GELU_TANH_CUBIC = 0.044715;
    /** Rows copied out together (keeps the column-major reads within a few cache lines). */
    private static final int OUT_TILE = 8;
    /** Per GEMM thread: the output block being copied out (grown as needed, never shrunk). */
    private static final ThreadLocal<float[]> SCRATCH = ThreadLocal.withInitial(() -> new float[0]);

    private final ExpertRef ref;
    private final int hiddenSize;
    private final int intermediateSize;
    private final Activation activation;
    private int parallelism;
    private final Panel input;
    private final Panel output;
    private final Panel geluTmp;
    private int nativeCalls;
    private int lastNativeCalls;
    private RowPlan lastPlan;
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
        this.parallelism = Nd4jSupport.configure();
        this.ref = ref;
        this.hiddenSize = hiddenSize;
        this.intermediateSize = intermediateSize;
        this.activation = activation;
        this.input = new Panel(hiddenSize);
        this.output = new Panel(hiddenSize);
        this.geluTmp = activation == Activation.GELU || activation == Activation.GELU_TANH
                ? new Panel(intermediateSize)
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

    /**
     * Computes later forwards on at most {@code threads} threads instead of {@link Nd4jSupport#parallelism()} (tests:
     * the result must not change).
     */
    final void parallelism(int threads) {
        this.parallelism = Math.max(1, threads);
    }

    /** Buffer rows the preallocated buffers currently hold (guard and padding rows included). */
    public final int rowCapacity() {
        return input.capacity();
    }

    /** Native (OpenBLAS / ND4J / JNI) calls issued by the last {@link #forward}. */
    public final int nativeCallsLastForward() {
        return lastNativeCalls;
    }

    /** Buffer rows the last forward computed (its rows plus guard and padding rows). */
    public final int computedRowsLastForward() {
        return lastPlan == null ? 0 : lastPlan.total();
    }

    /** GEMM parts of the last forward. */
    public final int partsLastForward() {
        return lastPlan == null ? 0 : lastPlan.parts();
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
        RowPlan plan = RowPlan.of(n);
        ensureCapacity(plan.total());
        nativeCalls = 0;
        load(plan, rows);
        compute(plan, new Sink(out, scale));
        lastPlan = plan;
        lastNativeCalls = nativeCalls;
    }

    /** Copies the rows into the input panel's part interiors and zeroes the guard and padding rows. */
    private void load(RowPlan plan, float[] rows) {
        int d = hiddenSize;
        for (int p = 0; p < plan.parts(); p++) {
            long base = plan.base()[p];
            long interior = plan.interior(p);
            long end = interior + plan.count()[p];
            input.zero(base * d, interior * d);
            input.put(rows, plan.first()[p] * d, interior * d, plan.count()[p] * d);
            input.zero(end * d, (base + plan.height()[p]) * d);
            nativeCalls += 3;
        }
    }

    /** Where a forward's rows go: {@code out[row·d + j] = (y + bias[j]) · scale[row]} (scale null: no gate weight). */
    record Sink(float[] out, float[] scale) {}

    /**
     * Y = alpha · H · Wᵀ (+ bias) for the hidden panel H ({@code [m, in]}, column-major), W row-major {@code [d, in]}:
     * each task computes one (part, column chunk) block of the output panel and copies that block's real rows into the
     * sink.
     */
    final void projectOut(RowPlan plan, Panel h, FloatPointer w, int in, float alpha, float[] bias, Sink sink) {
        int d = hiddenSize;
        eachTask(plan, d, 2, (p, c) -> {
            FixedOrderGemm.columnsTimesWeights(plan, h, w, in, d, output, alpha, p, c);
            storeBlock(plan, p, c, bias, sink);
        });
    }

    /**
     * Copies the real rows of one (part, column chunk) block of the column-major output into the row-major sink,
     * adding the bias (one F32 addition) and multiplying each row by its gate weight (one F32 multiplication).
     */
    private void storeBlock(RowPlan plan, int part, int chunk, float[] bias, Sink sink) {
        int d = hiddenSize;
        int m = plan.total();
        int j0 = FixedOrderGemm.firstColumn(chunk);
        int columns = FixedOrderGemm.columns(d, chunk);
        int count = plan.count()[part];
        int firstRow = plan.first()[part];
        // from the block's first real value to its last: the rows of other parts in between come along
        int length = (columns - 1) * m + count;
        float[] y = SCRATCH.get();
        if (y.length < length) {
            y = new float[Math.max(length, y.length * 2)];
            SCRATCH.set(y);
        }
        output.get((long) j0 * m + plan.interior(part), y, length);
        float[] out = sink.out();
        float[] scale = sink.scale();
        for (int r0 = 0; r0 < count; r0 += OUT_TILE) {
            int r1 = Math.min(count, r0 + OUT_TILE);
            for (int j = 0; j < columns; j++) {
                int column = j * m;
                for (int r = r0; r < r1; r++) {
                    int row = firstRow + r;
                    float v = y[column + r];
                    if (bias != null) {
                        v += bias[j0 + j];
                    }
                    out[row * d + j0 + j] = scale == null ? v : v * scale[row];
                }
            }
        }
    }

    private void ensureCapacity(int bufferRows) {
        int capacity = input.capacity();
        if (bufferRows <= capacity) {
            return;
        }
        int rows = Math.max(bufferRows, Math.max(INITIAL_ROWS, capacity * 2));
        input.ensureCapacity(rows);
        output.ensureCapacity(rows);
        if (geluTmp != null) {
            geluTmp.ensureCapacity(rows);
        }
        ensureHiddenCapacity(rows);
    }

    /** Grows the subclass's intermediate panels to {@code rows} buffer rows. */
    abstract void ensureHiddenCapacity(int rows);

    /**
     * The input panel holds the plan's rows (row-major); computes the hidden layer and ends with {@link #projectOut},
     * which writes expert(rows), scaled by the gate weights, into the sink.
     */
    abstract void compute(RowPlan plan, Sink sink);

    final Panel input() {
        return input;
    }

    final Panel output() {
        return output;
    }

    /**
     * Runs {@code task(part, chunk)} for every part of the plan and every column chunk of an output with {@code out}
     * columns, concurrently, and counts {@code callsPerTask} native calls per task.
     */
    final void eachTask(RowPlan plan, int out, int callsPerTask, FixedOrderGemm.PartChunk task) {
        FixedOrderGemm.forEach(plan, out, parallelism, task);
        nativeCalls += plan.parts() * FixedOrderGemm.chunks(out) * callsPerTask;
    }

    /**
     * Runs {@code task(firstColumn, columns)} over contiguous ranges of whole column chunks of an output with
     * {@code out} columns, one range per GEMM thread (at most one per chunk), concurrently, and counts
     * {@code callsPerRange} native calls per range. For element-wise ops: which thread computes a value never changes
     * it.
     */
    final void eachColumnRange(int out, int callsPerRange, ColumnRange task) {
        int chunks = FixedOrderGemm.chunks(out);
        int ranges = Math.min(parallelism, chunks);
        Nd4jSupport.forEach(ranges, ranges, r -> {
            int first = FixedOrderGemm.firstColumn(chunks * r / ranges);
            int end = Math.min(out, FixedOrderGemm.firstColumn(chunks * (r + 1) / ranges));
            task.run(first, end - first);
        });
        nativeCalls += ranges * callsPerRange;
    }

    /** One range of columns. */
    @FunctionalInterface
    interface ColumnRange {
        void run(int firstColumn, int columns);
    }

    /**
     * The two input products of a gated expert, G = X·gateᵀ and U = X·upᵀ (both {@code [m, out]}, column-major), one
     * task per (part, column chunk) computing both of its blocks.
     */
    final void gateAndUp(RowPlan plan, FloatPointer gate, FloatPointer up, int out, Panel g, Panel u) {
        int d = hiddenSize;
        eachTask(plan, out, 2, (p, c) -> {
            FixedOrderGemm.rowsTimesWeights(plan, input, gate, d, out, g, 1f, p, c);
            FixedOrderGemm.rowsTimesWeights(plan, input, up, d, out, u, 1f, p, c);
        });
    }

    /** Adds the gate and up biases (either may be null) to blocks of G and U whose first column is firstColumn. */
    static void addBiases(INDArray g, INDArray gateBias, INDArray u, INDArray upBias, int firstColumn) {
        if (gateBias != null) {
            addBias(g, gateBias, firstColumn);
        }
        if (upBias != null) {
            addBias(u, upBias, firstColumn);
        }
    }

    /** Native calls of {@link #addBiases}. */
    static int biasCalls(INDArray gateBias, INDArray upBias) {
        return (gateBias == null ? 0 : 1) + (upBias == null ? 0 : 1);
    }

    /** block += bias per column, for a block whose first column is {@code firstColumn} (bias [out, 1]). */
    static void addBias(INDArray block, INDArray bias, int firstColumn) {
        long columns = block.size(0);
        block.addiColumnVector(Nd4j.create(bias.data(), new long[] {columns, 1}, new long[] {1, 1}, firstColumn, 'c'));
    }

    /** Native calls of {@link #activate}. */
    final int activationCalls() {
        return switch (activation) {
            case SILU, RELU -> 1;
            case GELU -> 4;
            case GELU_TANH -> 8;
        };
    }

    /**
     * The constant factor {@link #activate} leaves out, for the caller to pass as alpha to the next GEMM: exact GELU
     * is computed as h ⊙ (1 + erf(h/√2)) with the 0.5 folded into alpha (exact, a power of two).
     */
    final float activationFactor() {
        return activation == Activation.GELU || activation == Activation.GELU_TANH ? 0.5f : 1f;
    }

    /**
     * Applies the activation, up to {@link #activationFactor()}, in place to a range of columns of the hidden panel (all
     * m buffer rows), on the calling thread.
     */
    final void activate(INDArray h, int m, int firstColumn, int columns) {
        switch (activation) {
            case SILU -> Nd4j.getExecutioner().exec(new Swish(h, h));
            case RELU -> Transforms.relu(h, false);
            case GELU -> {
                INDArray t = geluTmp.columns(m, firstColumn, columns);
                h.muli(INV_SQRT2, t);
                Nd4j.getExecutioner().exec(new Erf(t, t));
                t.addi(1.0);
                h.muli(t);
            }
            case GELU_TANH -> {
                // 0.5·h·(1 + tanh(√(2/π)·(h + 0.044715·h³))), the 0.5 in activationFactor()
                INDArray t = geluTmp.columns(m, firstColumn, columns);
                h.mul(h, t);
                t.muli(h);
                t.muli(GELU_TANH_CUBIC);
                t.addi(h);
                t.muli(SQRT_2_OVER_PI);
                Transforms.tanh(t, false);
                t.addi(1.0);
                h.muli(t);
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

    /** The native address of a weight matrix, for the GEMMs. */
    static FloatPointer pointer(INDArray w) {
        return new FloatPointer(w.data().addressPointer());
    }

    /** An optional F32 bias column [n, 1] for column-major panels (null stays null). */
    static INDArray bias(String name, float[] values, int n) {
        return values == null ? null : weight(name, values, n, 1);
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
