package io.moestreams.core.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A fused tensor over 2 GiB (a 128-expert gate_up is ~3 GB) is read in windows: an expert's slice far past byte
 * 2^31 comes back exactly, and only its bytes count as read. The file is sparse (a few real bytes), so the test
 * needs no disk space.
 */
class LargeTensorTest {

    @TempDir
    Path dir;

    @Test
    void aSliceBeyondTwoGibibytesOfAFusedTensorIsReadExactly() throws IOException {
        // Given model.safetensors holding one BF16 tensor [4, 16384, 18432] (2.4 GB) with known values at the start
        // of expert 3's slice, which begins at byte 1.8 GB and ends past 2^31
        long rows = 16384;
        long cols = 18432;
        long perExpert = rows * cols;
        long bytes = 4 * perExpert * 2;
        String header = "{\"gate_up\":{\"dtype\":\"BF16\",\"shape\":[4," + rows + "," + cols + "],\"data_offsets\":[0,"
                + bytes + "]}}";
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        Path file = dir.resolve("model.safetensors");
        long dataStart = 8 + h.length;
        long first = 4 * perExpert - 8; // near the end of expert 3, past byte 2^31
        assertTrue(2 * first > (1L << 31));
        float[] expected = {1.5f, -2.0f, 0.125f, 3.0f};
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.setLength(dataStart + bytes);
            ByteBuffer len =
                    ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(h.length);
            f.write(len.array());
            f.write(h);
            f.seek(dataStart + 2 * first);
            for (float v : expected) {
                short bf16 = (short) (Float.floatToIntBits(v) >>> 16);
                f.write(bf16 & 0xFF);
                f.write((bf16 >> 8) & 0xFF);
            }
        }
        // When the slice is read through the checkpoint store
        try (TensorStore store = TensorStore.open(dir)) {
            float[] got = store.readF32Range("gate_up", first, expected.length + 2);
            // Then the values come back (followed by the sparse file's zeros), and only those bytes were read
            assertArrayEquals(new float[] {1.5f, -2.0f, 0.125f, 3.0f, 0f, 0f}, got);
            assertEquals(2L * (expected.length + 2), store.bytesRead());
        }
    }
}
