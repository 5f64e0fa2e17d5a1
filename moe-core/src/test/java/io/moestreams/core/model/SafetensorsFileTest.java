package io.moestreams.core.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.moestreams.core.config.ModelConfigException;
import io.moestreams.numerics.HalfFloats;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafetensorsFileTest {

    @TempDir
    Path dir;

    /** Writes a file byte by byte: 8-byte LE header length, header, data. */
    static Path rawFile(Path file, String header, byte[] data) throws IOException {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer buf = ByteBuffer.allocate(8 + h.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        buf.putLong(h.length).put(h).put(data);
        Files.write(file, buf.array());
        return file;
    }

    static byte[] f32Bytes(float... values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            b.putFloat(v);
        }
        return b.array();
    }

    /** Bytes of the data section of a file written by SafetensorsWriter. */
    static ByteBuffer dataSection(Path file) throws IOException {
        ByteBuffer all = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        long headerLen = all.getLong(0);
        return all.position((int) (8 + headerLen)).slice().order(ByteOrder.LITTLE_ENDIAN);
    }

    @Test
    void writesAndReadsBackF32F16AndBf16() throws IOException {
        // Given values including a subnormal-in-F16, a rounding tie, infinity and NaN
        float[] values = {1.0f, -2.0f, 0x1.0p-24f, 0x1.002p0f, 65520.0f, Float.POSITIVE_INFINITY, Float.NaN, 0.1f};
        Path file = dir.resolve("t.safetensors");
        // When written in all three dtypes
        SafetensorsWriter.write(
                file,
                List.of(
                        SafetensorsWriter.Tensor.of("a.f32", SafetensorsDtype.F32, values, 2, 4),
                        SafetensorsWriter.Tensor.of("b.f16", SafetensorsDtype.F16, values, 8),
                        SafetensorsWriter.Tensor.of("c.bf16", SafetensorsDtype.BF16, values, 4, 2)),
                Map.of("format", "pt"));
        // Then the stored bytes are the hand-computed patterns
        ByteBuffer data = dataSection(file);
        short[] f16 = new short[8];
        short[] bf16 = new short[8];
        for (int i = 0; i < 8; i++) {
            assertEquals(Float.floatToRawIntBits(values[i]), Float.floatToRawIntBits(data.getFloat(4 * i)));
            f16[i] = data.getShort(32 + 2 * i);
            bf16[i] = data.getShort(48 + 2 * i);
        }
        assertArrayEquals(new short[] {0x3C00, (short) 0xC000, 0x0001, 0x3C00, 0x7C00, 0x7C00, f16[6], 0x2E66}, f16);
        assertEquals(0x7C00, f16[6] & 0x7C00);
        assertTrue((f16[6] & 0x3FF) != 0, "F16 NaN keeps a mantissa");
        assertArrayEquals(new short[] {0x3F80, (short) 0xC000, 0x3380, 0x3F80, 0x4780, 0x7F80, 0x7FC0, 0x3DCD}, bf16);
        // And they read back as F32: exact for F32, the widened rounded values for F16 / BF16
        try (SafetensorsFile st = SafetensorsFile.open(file)) {
            assertEquals(List.of("a.f32", "b.f16", "c.bf16"), List.copyOf(st.names()));
            assertEquals(Map.of("format", "pt"), st.metadata());
            assertArrayEquals(values, st.readF32("a.f32", 2, 4));
            float[] h = st.readF32("b.f16");
            assertArrayEquals(
                    new float[] {1f, -2f, 0x1.0p-24f, 1f, Float.POSITIVE_INFINITY, Float.POSITIVE_INFINITY},
                    Arrays.copyOf(h, 6));
            assertTrue(Float.isNaN(h[6]));
            assertEquals(0.0999755859375f, h[7]);
            float[] b = st.readF32("c.bf16", 4, 2);
            assertArrayEquals(
                    new float[] {1f, -2f, 0x1.0p-24f, 1f, 65536f, Float.POSITIVE_INFINITY}, Arrays.copyOf(b, 6));
            assertTrue(Float.isNaN(b[6]));
            assertEquals(0.10009765625f, b[7]);
            TensorInfo info = st.info("c.bf16");
            assertEquals(SafetensorsDtype.BF16, info.dtype());
            assertArrayEquals(new long[] {4, 2}, info.shape());
            assertEquals(48, info.begin());
            assertEquals(64, info.end());
        }
    }

    @Test
    void headerIsPaddedToEightBytesAndOffsetsAreContiguous() throws IOException {
        // Given a file written by the writer
        Path file = dir.resolve("p.safetensors");
        SafetensorsWriter.write(
                file,
                List.of(
                        SafetensorsWriter.Tensor.of("x", SafetensorsDtype.F16, new float[3], 3),
                        SafetensorsWriter.Tensor.of("y", SafetensorsDtype.F32, new float[2], 1, 2)),
                Map.of());
        // When the raw layout is inspected
        byte[] bytes = Files.readAllBytes(file);
        long headerLen = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        String header = new String(bytes, 8, (int) headerLen, StandardCharsets.UTF_8);
        // Then the header is a multiple of 8, JSON padded with spaces, and offsets are [0,6] and [6,14]
        assertEquals(0, headerLen % 8);
        assertTrue(header.contains("\"data_offsets\":[0,6]"), header);
        assertTrue(header.contains("\"data_offsets\":[6,14]"), header);
        assertEquals(8 + headerLen + 14, bytes.length);
    }

    @Test
    void readsLargeTensorsInSeveralMappedChunks() throws IOException {
        // Given F32, F16 and BF16 tensors of 1000 random values
        SplittableRandom random = new SplittableRandom(1);
        float[] values = new float[1000];
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) random.nextGaussian();
        }
        Path file = dir.resolve("c.safetensors");
        SafetensorsWriter.write(
                file,
                List.of(
                        SafetensorsWriter.Tensor.of("f32", SafetensorsDtype.F32, values, 10, 100),
                        SafetensorsWriter.Tensor.of("f16", SafetensorsDtype.F16, values, 1000),
                        SafetensorsWriter.Tensor.of("bf16", SafetensorsDtype.BF16, values, 1000)),
                null);
        try (SafetensorsFile st = SafetensorsFile.open(file)) {
            for (String name : List.of("f32", "f16", "bf16")) {
                // When read with 1 KiB mappings (several chunks, uneven last chunk) and in one mapping
                float[] chunked = st.readF32(name, 1024);
                float[] whole = st.readF32(name);
                // Then both agree, and F32 is exact
                assertArrayEquals(whole, chunked, name);
            }
            assertArrayEquals(values, st.readF32("f32"));
            for (int i = 0; i < values.length; i++) {
                assertEquals(HalfFloats.f16ToFloat(HalfFloats.floatToF16(values[i])), st.readF32("f16")[i]);
            }
        }
    }

    @Test
    void missingTensorIsNamedWithTheTensorsNearby() throws IOException {
        // Given a file with experts 0 and 1
        Path file = dir.resolve("m.safetensors");
        SafetensorsWriter.write(
                file,
                List.of(
                        SafetensorsWriter.Tensor.of("layer.experts.0.w1.weight", SafetensorsDtype.F32, new float[2], 2),
                        SafetensorsWriter.Tensor.of("layer.experts.1.w1.weight", SafetensorsDtype.F32, new float[2], 2),
                        SafetensorsWriter.Tensor.of("other.bias", SafetensorsDtype.F32, new float[2], 2)),
                null);
        try (SafetensorsFile st = SafetensorsFile.open(file)) {
            // When a missing tensor is requested
            ModelConfigException e =
                    assertThrows(ModelConfigException.class, () -> st.readF32("layer.experts.2.w1.weight"));
            // Then the message names it and lists what the prefix has
            assertEquals("layer.experts.2.w1.weight", e.field());
            assertTrue(e.getMessage().contains("missing tensor"), e.getMessage());
            assertTrue(e.getMessage().contains("tensors under 'layer.experts.'"), e.getMessage());
            assertTrue(e.getMessage().contains("layer.experts.0.w1.weight"), e.getMessage());
            assertTrue(!e.getMessage().contains("other.bias"), e.getMessage());
        }
    }

    @Test
    void shapeMismatchNamesExpectedAndFoundShapes() throws IOException {
        // Given a [2,3] tensor
        Path file = rawFile(
                dir.resolve("s.safetensors"),
                "{\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]}}",
                new byte[24]);
        try (SafetensorsFile st = SafetensorsFile.open(file)) {
            // When read as [3,2]
            ModelConfigException e = assertThrows(ModelConfigException.class, () -> st.readF32("w", 3, 2));
            // Then expected and found shapes are named
            assertEquals("w: expected shape [3, 2], found shape [2, 3]", e.getMessage());
        }
    }

    @Test
    void unknownDtypeIsAnErrorNamingTensorAndDtype() throws IOException {
        // Given a header with a dtype that safetensors does not define
        Path file = rawFile(
                dir.resolve("d.safetensors"),
                "{\"w\":{\"dtype\":\"Q4\",\"shape\":[2],\"data_offsets\":[0,2]}}",
                new byte[2]);
        // When opened / Then
        ModelConfigException e = assertThrows(ModelConfigException.class, () -> SafetensorsFile.open(file));
        assertEquals("w", e.field());
        assertTrue(e.getMessage().contains("unknown dtype Q4"), e.getMessage());
    }

    @Test
    void nonFloatDtypeCannotBeReadAsF32() throws IOException {
        // Given a valid I64 tensor next to an F32 one
        Path file = rawFile(
                dir.resolve("i.safetensors"),
                "{\"ids\":{\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[0,16]},"
                        + "\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[16,20]}}",
                concat(new byte[16], f32Bytes(3.5f)));
        try (SafetensorsFile st = SafetensorsFile.open(file)) {
            // When the I64 tensor is read / Then the error names tensor and dtype, while the F32 one reads fine
            ModelConfigException e = assertThrows(ModelConfigException.class, () -> st.readF32("ids"));
            assertEquals("ids: expected dtype F32, F16 or BF16, found dtype I64 in i.safetensors", e.getMessage());
            assertArrayEquals(new float[] {3.5f}, st.readF32("w"));
        }
    }

    @Test
    void truncatedFileIsAnErrorNamingTheTensor() throws IOException {
        // Given a valid file with its last 4 bytes cut off
        Path file = dir.resolve("t.safetensors");
        SafetensorsWriter.write(
                file,
                List.of(
                        SafetensorsWriter.Tensor.of("a", SafetensorsDtype.F32, new float[4], 4),
                        SafetensorsWriter.Tensor.of("b", SafetensorsDtype.F32, new float[4], 4)),
                null);
        byte[] bytes = Files.readAllBytes(file);
        Files.write(file, Arrays.copyOf(bytes, bytes.length - 4));
        // When opened / Then the tensor past the end is named and the file called truncated
        ModelConfigException e = assertThrows(ModelConfigException.class, () -> SafetensorsFile.open(file));
        assertEquals("b", e.field());
        assertTrue(e.getMessage().contains("truncated"), e.getMessage());
    }

    @Test
    void truncatedHeaderAndTinyFilesAreErrors() throws IOException {
        // Given a file cut inside its header, and a file shorter than the length prefix
        Path file = dir.resolve("h.safetensors");
        SafetensorsWriter.write(
                file, List.of(SafetensorsWriter.Tensor.of("a", SafetensorsDtype.F32, new float[1], 1)), null);
        Files.write(file, Arrays.copyOf(Files.readAllBytes(file), 20));
        Path tiny = dir.resolve("tiny.safetensors");
        Files.write(tiny, new byte[] {1, 2, 3});
        // When opened / Then both are clear errors naming the file
        ModelConfigException e = assertThrows(ModelConfigException.class, () -> SafetensorsFile.open(file));
        assertEquals("h.safetensors", e.field());
        assertTrue(e.getMessage().contains("truncated"), e.getMessage());
        ModelConfigException t = assertThrows(ModelConfigException.class, () -> SafetensorsFile.open(tiny));
        assertTrue(t.getMessage().contains("at least 8 bytes"), t.getMessage());
    }

    @Test
    void badHeadersAreErrors() throws IOException {
        // Given headers that are not JSON, not an object, of absurd length, or inconsistent with the data
        Path notJson = rawFile(dir.resolve("a.safetensors"), "{\"w\": [", new byte[0]);
        Path notObject = rawFile(dir.resolve("b.safetensors"), "[1, 2]  ", new byte[0]);
        Path wrongSize = rawFile(
                dir.resolve("c.safetensors"),
                "{\"w\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,12]}}",
                new byte[12]);
        Path backwards = rawFile(
                dir.resolve("d.safetensors"),
                "{\"w\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,4]}}",
                new byte[12]);
        Path badShape = rawFile(
                dir.resolve("e.safetensors"),
                "{\"w\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}",
                new byte[4]);
        Path hugeLength = dir.resolve("f.safetensors");
        Files.write(
                hugeLength,
                ByteBuffer.allocate(16)
                        .order(ByteOrder.LITTLE_ENDIAN)
                        .putLong(-5L)
                        .array());
        // When opened / Then each is a ModelConfigException with the reason
        assertTrue(message(notJson).contains("not valid JSON"), message(notJson));
        assertTrue(message(notObject).contains("a JSON object as header"), message(notObject));
        assertEquals(
                "w: expected 16 bytes (shape [2, 2] x F32 4 bytes), found 12 bytes in data_offsets [0,12]",
                message(wrongSize));
        assertTrue(message(backwards).contains("0 <= begin <= end"), message(backwards));
        assertTrue(message(badShape).contains("non-negative integer dimensions"), message(badShape));
        assertTrue(message(hugeLength).contains("not a safetensors file"), message(hugeLength));
    }

    @Test
    void missingFileIsNamed() {
        // Given / When / Then
        ModelConfigException e =
                assertThrows(ModelConfigException.class, () -> SafetensorsFile.open(dir.resolve("nope.safetensors")));
        assertTrue(e.getMessage().contains("file not found"), e.getMessage());
    }

    @Test
    void writerRefusesOutOfOrderOrIncompleteTensors() throws IOException {
        // Given a writer declaring two tensors
        Path file = dir.resolve("w.safetensors");
        SafetensorsWriter w = SafetensorsWriter.create(
                file,
                List.of(
                        new TensorSpec("a", SafetensorsDtype.F32, new long[] {2}),
                        new TensorSpec("b", SafetensorsDtype.F32, new long[] {2})),
                null);
        // When written out of order or with the wrong length / Then refused
        assertThrows(IllegalArgumentException.class, () -> w.write("b", new float[2]));
        assertThrows(IllegalArgumentException.class, () -> w.write("a", new float[3]));
        w.write("a", new float[2]);
        // And closing before "b" abandons the file
        IllegalStateException e = assertThrows(IllegalStateException.class, w::close);
        assertTrue(e.getMessage().contains("tensor b was never written"), e.getMessage());
        assertTrue(Files.notExists(file));
    }

    @Test
    void tracksWhichTensorsWereRead() throws IOException {
        // Given a file with three tensors
        Path file = dir.resolve("r.safetensors");
        SafetensorsWriter.write(
                file,
                List.of(
                        SafetensorsWriter.Tensor.of("a", SafetensorsDtype.F32, new float[1], 1),
                        SafetensorsWriter.Tensor.of("b", SafetensorsDtype.F32, new float[1], 1),
                        SafetensorsWriter.Tensor.of("c", SafetensorsDtype.F32, new float[1], 1)),
                null);
        try (SafetensorsFile st = SafetensorsFile.open(file)) {
            // When only c and a are read (info of b consulted)
            st.readF32("c");
            st.info("b");
            st.readF32("a");
            // Then only their bytes were mapped, in reading order
            assertEquals(List.of("c", "a"), List.copyOf(st.tensorsRead()));
        }
    }

    private static String message(Path file) {
        return assertThrows(ModelConfigException.class, () -> SafetensorsFile.open(file))
                .getMessage();
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
