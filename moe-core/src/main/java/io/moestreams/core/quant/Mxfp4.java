package io.moestreams.core.quant;

import io.moestreams.core.config.ModelConfigException;

/**
 * MXFP4 as gpt-oss stores its experts (transformers integrations/mxfp4.py): {@code *_blocks [..., G, 16]} U8 and
 * {@code *_scales [..., G]} U8. Each group of 32 values is 16 bytes; byte j holds element 2j in its low nibble and
 * element 2j+1 in its high nibble, each an E2M1 code (LUT +0, .5, 1, 1.5, 2, 3, 4, 6 and their negatives); the
 * group's value is LUT[code] · 2^(scale − 127). Every result is exact in F32.
 */
public final class Mxfp4 {

    /** Values per group (one scale). */
    public static final int GROUP = 32;
    /** Bytes per group. */
    public static final int GROUP_BYTES = 16;

    private static final float[] LUT = {
        +0.0f, +0.5f, +1.0f, +1.5f, +2.0f, +3.0f, +4.0f, +6.0f, -0.0f, -0.5f, -1.0f, -1.5f, -2.0f, -3.0f, -4.0f, -6.0f
    };

    private Mxfp4() {}

    /**
     * Dequantizes {@code rows} rows of {@code groups} groups each.
     *
     * @param name   the tensor base name (without {@code _blocks}), for errors
     * @param blocks rows·groups·16 bytes
     * @param scales rows·groups bytes
     * @return row-major [rows, groups·32]
     */
    public static float[] dequantize(String name, byte[] blocks, byte[] scales, int rows, int groups) {
        long n = (long) rows * groups;
        if (blocks.length != n * GROUP_BYTES) {
            throw new ModelConfigException(name + "_blocks", (n * GROUP_BYTES) + " bytes", blocks.length + " bytes");
        }
        if (scales.length != n) {
            throw new ModelConfigException(name + "_scales", n + " bytes", scales.length + " bytes");
        }
        float[] out = new float[(int) (n * GROUP)];
        for (int g = 0; g < n; g++) {
            int exponent = (scales[g] & 0xFF) - 127;
            int src = g * GROUP_BYTES;
            int dst = g * GROUP;
            for (int j = 0; j < GROUP_BYTES; j++) {
                int b = blocks[src + j] & 0xFF;
                out[dst + 2 * j] = Math.scalb(LUT[b & 0x0F], exponent);
                out[dst + 2 * j + 1] = Math.scalb(LUT[b >> 4], exponent);
            }
        }
        return out;
    }
}
