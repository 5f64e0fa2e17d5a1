package io.moestreams.core.quant;

import io.moestreams.core.config.ModelConfigException;

/**
 * FP8 E4M3 (the "fn" variant of safetensors' {@code F8_E4M3}: 1 sign bit, 4 exponent bits with bias 7, 3 mantissa
 * bits, no infinities, {@code S.1111.111} is NaN, max 448) and DeepSeek-V3's block-scaled weights: a weight
 * {@code [rows, cols]} comes with {@code weight_scale_inv [ceil(rows/bm), ceil(cols/bn)]} (F32) and
 * w[i][j] = fp8(q[i][j]) · scale_inv[i/bm][j/bn], the product rounded to F32 (transformers' Fp8Dequantize
 * computes {@code q.float() * s} in F32).
 */
public final class Fp8E4m3 {

    private static final float[] TABLE = new float[256];

    static {
        for (int b = 0; b < 256; b++) {
            TABLE[b] = decodeBits(b);
        }
    }

    private Fp8E4m3() {}

    /** The value of one E4M3 byte. */
    public static float decode(byte b) {
        return TABLE[b & 0xFF];
    }

    private static float decodeBits(int b) {
        int sign = (b >> 7) & 1;
        int exp = (b >> 3) & 0xF;
        int mant = b & 0x7;
        float v;
        if (exp == 0xF && mant == 0x7) {
            return Float.NaN;
        } else if (exp == 0) {
            v = Math.scalb(mant / 8.0f, -6);
        } else {
            v = Math.scalb(1.0f + mant / 8.0f, exp - 7);
        }
        return sign == 1 ? -v : v;
    }

    /**
     * Dequantizes a block-scaled matrix.
     *
     * @param name      the weight's tensor name, for errors
     * @param q         the E4M3 bytes, row-major [rows, cols]
     * @param scaleInv  [ceil(rows/blockRows), ceil(cols/blockCols)], row-major
     * @throws ModelConfigException if the scale grid does not match the block size
     */
    public static float[] dequantize(
            String name, byte[] q, int rows, int cols, float[] scaleInv, int blockRows, int blockCols) {
        if (q.length != (long) rows * cols) {
            throw new ModelConfigException(name, rows + " x " + cols + " bytes", q.length + " bytes");
        }
        int sr = (rows + blockRows - 1) / blockRows;
        int sc = (cols + blockCols - 1) / blockCols;
        if (scaleInv.length != (long) sr * sc) {
            throw new ModelConfigException(
                    name + "_scale_inv",
                    "a scale grid [" + sr + ", " + sc + "] for blocks of " + blockRows + " x " + blockCols,
                    scaleInv.length + " values");
        }
        float[] out = new float[q.length];
        for (int i = 0; i < rows; i++) {
            int srow = (i / blockRows) * sc;
            for (int j = 0; j < cols; j++) {
                out[i * cols + j] = TABLE[q[i * cols + j] & 0xFF] * scaleInv[srow + j / blockCols];
            }
        }
        return out;
    }
}
