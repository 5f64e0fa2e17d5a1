package io.moestreams.core.hf;

import io.moestreams.core.config.ModelConfigException;
import io.moestreams.core.model.SafetensorsDtype;
import io.moestreams.core.model.TensorInfo;
import io.moestreams.core.model.TensorStore;
import io.moestreams.core.quant.Fp8E4m3;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Reads the weights of one layer from a {@link TensorStore} as F32: whole 2-D tensors (F32, F16, BF16, or
 * F8_E4M3 with a block-scale sibling {@code <name>_scale_inv}, dequantized at load), one expert's slice of a
 * fused {@code [E, rows, cols]} tensor (only that slice's bytes are read), and vectors. Every value read is
 * checked to be finite.
 */
public final class WeightReader {

    private final TensorStore store;
    private final int blockRows;
    private final int blockCols;

    /**
     * @param blockRows FP8 block height ({@code quantization_config.weight_block_size[0]}, 128 by default)
     * @param blockCols FP8 block width
     */
    public WeightReader(TensorStore store, int blockRows, int blockCols) {
        this.store = store;
        this.blockRows = blockRows;
        this.blockCols = blockCols;
    }

    public TensorStore store() {
        return store;
    }

    /** The name of the F32 block scales of an FP8 weight. */
    public static String scaleName(String weight) {
        return weight + "_scale_inv";
    }

    /** Checks a 2-D weight's header (and its scale's when FP8) without reading data. */
    public void validateMatrix(String name, int rows, int cols) {
        TensorInfo info = store.requireShape(name, rows, cols);
        if (info.dtype() == SafetensorsDtype.F8_E4M3) {
            store.requireShape(scaleName(name), ceil(rows, blockRows), ceil(cols, blockCols));
            requireDtype(scaleName(name), SafetensorsDtype.F32);
        } else {
            requireFloat(name, info);
        }
    }

    /** Reads a 2-D weight [rows, cols]. */
    public float[] matrix(String name, int rows, int cols) {
        validateMatrix(name, rows, cols);
        TensorInfo info = store.info(name);
        if (info.dtype() == SafetensorsDtype.F8_E4M3) {
            byte[] q = store.readBytes(name, 0, rows * cols);
            float[] scale = store.readF32(scaleName(name), ceil(rows, blockRows), ceil(cols, blockCols));
            return finite(name, Fp8E4m3.dequantize(name, q, rows, cols, scale, blockRows, blockCols), cols);
        }
        return finite(name, store.readF32(name, rows, cols), cols);
    }

    /** The bytes {@link #matrix} reads. */
    public List<TensorPart> matrixParts(String name) {
        List<TensorPart> parts = new ArrayList<>();
        parts.add(part(name, store.info(name).byteLength()));
        if (store.info(name).dtype() == SafetensorsDtype.F8_E4M3) {
            parts.add(part(scaleName(name), store.info(scaleName(name)).byteLength()));
        }
        return parts;
    }

    /** Checks a fused [experts, rows, cols] tensor's header. */
    public void validateFused(String name, int experts, int rows, int cols) {
        TensorInfo info = store.requireShape(name, experts, rows, cols);
        requireFloat(name, info);
    }

    /** Reads expert {@code e}'s [rows, cols] slice of a fused [experts, rows, cols] tensor. */
    public float[] fusedSlice(String name, int e, int experts, int rows, int cols) {
        validateFused(name, experts, rows, cols);
        long per = (long) rows * cols;
        return finite(name, store.readF32Range(name, e * per, Math.toIntExact(per)), cols);
    }

    /** The bytes {@link #fusedSlice} reads for one expert. */
    public TensorPart fusedPart(String name, int experts) {
        return part(name, store.info(name).byteLength() / experts);
    }

    /** Checks a vector [n] (or row e of [experts, n] when experts > 0). */
    public void validateVector(String name, int experts, int n) {
        TensorInfo info = experts > 0 ? store.requireShape(name, experts, n) : store.requireShape(name, n);
        requireFloat(name, info);
    }

    /** Reads a vector [n]. */
    public float[] vector(String name, int n) {
        validateVector(name, 0, n);
        return finite(name, store.readF32(name, n), n);
    }

    /** Reads row e of [experts, n]. */
    public float[] vectorRow(String name, int e, int experts, int n) {
        validateVector(name, experts, n);
        return finite(name, store.readF32Range(name, (long) e * n, n), n);
    }

    /** A part of {@code bytes} bytes of a tensor. */
    public TensorPart part(String name, long bytes) {
        return new TensorPart(
                name, store.shardOf(name), store.info(name).dtype().name(), bytes);
    }

    void requireDtype(String name, SafetensorsDtype dtype) {
        TensorInfo info = store.info(name);
        if (info.dtype() != dtype) {
            throw new ModelConfigException(
                    name, "dtype " + dtype, "dtype " + info.dtype() + " in " + store.shardOf(name));
        }
    }

    private void requireFloat(String name, TensorInfo info) {
        if (!info.dtype().readableAsF32()) {
            throw new ModelConfigException(
                    name,
                    "dtype F32, F16, BF16 (or F8_E4M3 with " + scaleName(name) + ")",
                    "dtype " + info.dtype() + " in " + store.shardOf(name));
        }
    }

    static int ceil(int n, int block) {
        return (n + block - 1) / block;
    }

    /** Throws naming the tensor and the element if a value is NaN or infinite. */
    static float[] finite(String name, float[] values, int cols) {
        for (int i = 0; i < values.length; i++) {
            if (!Float.isFinite(values[i])) {
                throw new ModelConfigException(
                        name, "finite values", values[i] + " at element [" + (i / cols) + ", " + (i % cols) + "]");
            }
        }
        return values;
    }

    @Override
    public String toString() {
        return "WeightReader[" + store + ", fp8 blocks " + Arrays.toString(new int[] {blockRows, blockCols}) + "]";
    }
}
