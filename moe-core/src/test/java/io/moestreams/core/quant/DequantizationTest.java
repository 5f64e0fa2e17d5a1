package io.moestreams.core.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.moestreams.core.config.ModelConfigException;
import io.moestreams.core.testing.NaiveCheckpoint;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The F8_E4M3 and MXFP4 decoders against naive decoders written from the format definitions. */
class DequantizationTest {

    @Test
    void everyFiniteE4m3CodeDecodesAsTheBitFormulaSays() {
        for (int c = 0; c < 256; c++) {
            byte b = (byte) c;
            if ((c & 0x7F) == 0x7F) {
                assertTrue(Float.isNaN(Fp8E4m3.decode(b)), "code " + c + " is NaN in e4m3fn");
                continue;
            }
            assertEquals((float) NaiveCheckpoint.e4m3(b), Fp8E4m3.decode(b), "code " + c);
        }
        assertEquals(448f, Fp8E4m3.decode((byte) 0x7E));
        assertEquals(-0.001953125f, Fp8E4m3.decode((byte) 0x81));
    }

    @Test
    void blockScalesApplyPerBlockIncludingPartialEdgeBlocks() {
        // Given a 5 x 7 weight with 2 x 3 blocks: a 3 x 3 scale grid whose last row and column are partial
        int rows = 5;
        int cols = 7;
        SplittableRandom random = new SplittableRandom(1);
        byte[] q = new byte[rows * cols];
        for (int i = 0; i < q.length; i++) {
            q[i] = (byte) random.nextInt(0, 0x7E);
        }
        float[] scale = {0.5f, 1.5f, 2f, 3f, 0.25f, 7f, 1f, 0.125f, 9f};
        // When dequantized
        float[] w = Fp8E4m3.dequantize("w", q, rows, cols, scale, 2, 3);
        // Then each value is its code times the scale of its block, rounded once to F32
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) {
                float expected = (float) NaiveCheckpoint.e4m3(q[i * cols + j]) * scale[(i / 2) * 3 + j / 3];
                assertEquals(expected, w[i * cols + j], "[" + i + "," + j + "]");
            }
        }
        ModelConfigException grid =
                assertThrows(ModelConfigException.class, () -> Fp8E4m3.dequantize("w", q, rows, cols, scale, 2, 2));
        assertTrue(grid.getMessage().startsWith("w_scale_inv: expected a scale grid [3, 4]"), grid.getMessage());
    }

    @Test
    void mxfp4GroupsDecodeLowNibbleFirstTimesTheirPowerOfTwo() {
        // Given 3 rows of 2 groups with random codes and exponents around 127
        SplittableRandom random = new SplittableRandom(2);
        int rows = 3;
        int groups = 2;
        byte[] blocks = new byte[rows * groups * 16];
        byte[] scales = new byte[rows * groups];
        random.nextBytes(blocks);
        for (int g = 0; g < scales.length; g++) {
            scales[g] = (byte) (127 + random.nextInt(-10, 10));
        }
        // When dequantized
        float[] w = Mxfp4.dequantize("x", blocks, scales, rows, groups);
        // Then element 2j is the low nibble of byte j, 2j+1 the high one, each an E2M1 value times 2^(scale-127)
        for (int g = 0; g < rows * groups; g++) {
            double s = Math.pow(2, (scales[g] & 0xFF) - 127);
            for (int j = 0; j < 16; j++) {
                int b = blocks[g * 16 + j] & 0xFF;
                assertEquals((float) (NaiveCheckpoint.e2m1(b & 15) * s), w[g * 32 + 2 * j]);
                assertEquals((float) (NaiveCheckpoint.e2m1(b >> 4) * s), w[g * 32 + 2 * j + 1]);
            }
        }
        ModelConfigException size =
                assertThrows(ModelConfigException.class, () -> Mxfp4.dequantize("x", new byte[15], new byte[1], 1, 1));
        assertTrue(size.getMessage().startsWith("x_blocks: expected 16 bytes"), size.getMessage());
    }
}
