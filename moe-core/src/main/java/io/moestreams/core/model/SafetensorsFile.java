package io.moestreams.core.model;

import io.moestreams.core.config.ModelConfigException;
import io.moestreams.numerics.HalfFloats;
import java.io.IOException;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.ShortBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A read-only view of a {@code .safetensors} file: an 8-byte little-endian header length, a JSON header
 * {@code {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__"?: {..}}} and the data section.
 *
 * <p>Opening reads and validates only the header. The bytes of a tensor are memory-mapped (read-only) when that
 * tensor is read, and only its own byte range, in chunks of at most 1 GiB, so files larger than 2 GB work and a
 * process that reads a subset of the tensors never touches the pages of the others. {@link #tensorsRead()} lists
 * which tensors had their bytes mapped.
 *
 * <p>Thread-safe for concurrent reads.
 */
public final class SafetensorsFile implements AutoCloseable {

    static final int DEFAULT_CHUNK_BYTES = 1 << 30;
    private static final int CONVERT_BLOCK = 1 << 16;

    private final Path path;
    private final FileChannel channel;
    private final long dataStart;
    private final long dataSize;
    private final Map<String, TensorInfo> tensors;
    private final Map<String, String> metadata;
    private final Set<String> tensorsRead = new LinkedHashSet<>();
    private final AtomicLong bytesRead = new AtomicLong();
    private volatile boolean closed;

    private SafetensorsFile(
            Path path,
            FileChannel channel,
            long dataStart,
            long dataSize,
            Map<String, TensorInfo> tensors,
            Map<String, String> metadata) {
        this.path = path;
        this.channel = channel;
        this.dataStart = dataStart;
        this.dataSize = dataSize;
        this.tensors = tensors;
        this.metadata = metadata;
    }

    /**
     * Opens a file and validates its header (see {@link SafetensorsHeader}): header length within the file, valid
     * JSON, every tensor's dtype known, offsets inside the data section and equal in length to shape × dtype size.
     *
     * @throws ModelConfigException naming the file or the tensor, with what was expected and what was found
     */
    public static SafetensorsFile open(Path file) {
        String fileName = file.getFileName() == null
                ? file.toString()
                : file.getFileName().toString();
        FileChannel channel;
        try {
            channel = FileChannel.open(file, StandardOpenOption.READ);
        } catch (NoSuchFileException e) {
            throw new ModelConfigException(fileName, "file not found: " + file);
        } catch (IOException e) {
            throw new ModelConfigException(fileName, "cannot open " + file + ": " + e.getMessage(), e);
        }
        try {
            SafetensorsHeader header = SafetensorsHeader.read(channel, fileName);
            return new SafetensorsFile(
                    file,
                    channel,
                    header.dataStart(),
                    header.dataSize(),
                    Collections.unmodifiableMap(header.tensors()),
                    Collections.unmodifiableMap(header.metadata()));
        } catch (IOException e) {
            closeQuietly(channel);
            throw new ModelConfigException(fileName, "cannot read " + file + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            closeQuietly(channel);
            throw e;
        }
    }

    /** The file this was opened from. */
    public Path path() {
        return path;
    }

    /** Tensor names in header order. */
    public Set<String> names() {
        return tensors.keySet();
    }

    public boolean contains(String name) {
        return tensors.containsKey(name);
    }

    /** The {@code __metadata__} entries (empty if absent). */
    public Map<String, String> metadata() {
        return metadata;
    }

    /** Size of the data section in bytes. */
    public long dataSize() {
        return dataSize;
    }

    /**
     * The header entry of a tensor.
     *
     * @throws ModelConfigException if there is no such tensor; the message lists the tensors nearby
     */
    public TensorInfo info(String name) {
        TensorInfo info = tensors.get(name);
        if (info == null) {
            throw new ModelConfigException(name, "missing tensor in " + path.getFileName() + "; " + nearby(name));
        }
        return info;
    }

    /**
     * Checks that a tensor exists, has a float dtype and has exactly the expected shape.
     *
     * @throws ModelConfigException naming the tensor, the expected and the found shape
     */
    public TensorInfo requireShape(String name, long... expectedShape) {
        TensorInfo info = info(name);
        if (!info.hasShape(expectedShape)) {
            throw new ModelConfigException(
                    name, "shape " + Arrays.toString(expectedShape), "shape " + info.shapeString());
        }
        if (!info.dtype().readableAsF32()) {
            throw new ModelConfigException(name, "dtype F32, F16 or BF16", "dtype " + info.dtype());
        }
        return info;
    }

    /** Reads a tensor converted to F32 after checking its shape (see {@link #requireShape}). */
    public float[] readF32(String name, long... expectedShape) {
        requireShape(name, expectedShape);
        return readF32(name);
    }

    /**
     * Reads a tensor, converting F16 and BF16 to F32 exactly, row-major as stored.
     *
     * @throws ModelConfigException if the tensor is missing, not F32/F16/BF16, or too large for one array
     */
    public float[] readF32(String name) {
        return readF32(name, DEFAULT_CHUNK_BYTES);
    }

    float[] readF32(String name, int chunkBytes) {
        TensorInfo info = info(name);
        return readF32Range(name, 0, checkedCount(name, info.numElements(), info), chunkBytes);
    }

    /**
     * Reads {@code count} consecutive elements starting at element {@code first} (row-major, as stored) of a
     * F32 / F16 / BF16 tensor, converted to F32. Only those bytes are mapped: this is how one expert's slice of a
     * fused {@code [E, ...]} tensor is read without touching the other experts' bytes.
     *
     * @throws ModelConfigException if the tensor is missing, not F32/F16/BF16, or the range is outside it
     */
    public float[] readF32Range(String name, long first, int count) {
        return readF32Range(name, first, count, DEFAULT_CHUNK_BYTES);
    }

    float[] readF32Range(String name, long first, int count, int chunkBytes) {
        checkOpen();
        TensorInfo info = info(name);
        SafetensorsDtype dtype = info.dtype();
        if (!dtype.readableAsF32()) {
            throw new ModelConfigException(name, "dtype F32, F16 or BF16", "dtype " + dtype + " in " + fileName());
        }
        checkRange(name, info, first, count);
        float[] out = new float[count];
        markRead(name, (long) count * dtype.byteSize());
        int elemSize = dtype.byteSize();
        int perChunk = Math.max(1, chunkBytes / elemSize);
        long position = dataStart + info.begin() + first * elemSize;
        int done = 0;
        short[] block = dtype == SafetensorsDtype.F32 ? null : new short[Math.max(1, Math.min(CONVERT_BLOCK, count))];
        try {
            while (done < count) {
                int n = Math.min(count - done, perChunk);
                MappedByteBuffer mapped = channel.map(FileChannel.MapMode.READ_ONLY, position, (long) n * elemSize);
                mapped.order(ByteOrder.LITTLE_ENDIAN);
                if (dtype == SafetensorsDtype.F32) {
                    mapped.asFloatBuffer().get(out, done, n);
                } else {
                    convertHalf(mapped.asShortBuffer(), dtype, block, out, done, n);
                }
                position += (long) n * elemSize;
                done += n;
            }
        } catch (IOException e) {
            throw new ModelConfigException(name, "cannot map bytes of " + path + ": " + e.getMessage(), e);
        }
        return out;
    }

    /**
     * Reads {@code count} raw bytes starting at byte {@code firstByte} of a tensor's data (any dtype: the packed
     * U8 of MXFP4 blocks and scales, F8_E4M3 weights).
     *
     * @throws ModelConfigException if the tensor is missing or the range is outside it
     */
    public byte[] readBytes(String name, long firstByte, int count) {
        checkOpen();
        TensorInfo info = info(name);
        if (firstByte < 0 || count < 0 || firstByte + count > info.byteLength()) {
            throw new ModelConfigException(
                    name,
                    "a byte range inside its " + info.byteLength() + " bytes",
                    "[" + firstByte + ", " + (firstByte + count) + ") in " + fileName());
        }
        byte[] out = new byte[count];
        markRead(name, count);
        long position = dataStart + info.begin() + firstByte;
        int done = 0;
        try {
            while (done < count) {
                int n = Math.min(count - done, DEFAULT_CHUNK_BYTES);
                MappedByteBuffer mapped = channel.map(FileChannel.MapMode.READ_ONLY, position, n);
                mapped.get(out, done, n);
                position += n;
                done += n;
            }
        } catch (IOException e) {
            throw new ModelConfigException(name, "cannot map bytes of " + path + ": " + e.getMessage(), e);
        }
        return out;
    }

    /** Tensor data bytes read so far through {@link #readF32Range} / {@link #readBytes} (headers excluded). */
    public long bytesRead() {
        return bytesRead.get();
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("safetensors file " + path + " is closed");
        }
    }

    private void markRead(String name, long bytes) {
        synchronized (tensorsRead) {
            tensorsRead.add(name);
        }
        bytesRead.addAndGet(bytes);
    }

    private String fileName() {
        return path.getFileName() == null ? path.toString() : path.getFileName().toString();
    }

    private static int checkedCount(String name, long count, TensorInfo info) {
        if (count > Integer.MAX_VALUE - 8) {
            throw new ModelConfigException(
                    name,
                    "at most " + (Integer.MAX_VALUE - 8) + " elements",
                    count + " elements (shape " + info.shapeString() + ")");
        }
        return (int) count;
    }

    private static void checkRange(String name, TensorInfo info, long first, int count) {
        if (first < 0 || count < 0 || first + count > info.numElements()) {
            throw new ModelConfigException(
                    name,
                    "an element range inside its " + info.numElements() + " elements (shape " + info.shapeString()
                            + ")",
                    "[" + first + ", " + (first + count) + ")");
        }
    }

    private static void convertHalf(
            ShortBuffer src, SafetensorsDtype dtype, short[] block, float[] out, int offset, int n) {
        int done = 0;
        while (done < n) {
            int m = Math.min(block.length, n - done);
            src.get(block, 0, m);
            int base = offset + done;
            if (dtype == SafetensorsDtype.F16) {
                for (int i = 0; i < m; i++) {
                    out[base + i] = HalfFloats.f16ToFloat(block[i]);
                }
            } else {
                for (int i = 0; i < m; i++) {
                    out[base + i] = HalfFloats.bf16ToFloat(block[i]);
                }
            }
            done += m;
        }
    }

    /** Names of the tensors whose bytes have been mapped so far, in first-read order (diagnostics and tests). */
    public Set<String> tensorsRead() {
        synchronized (tensorsRead) {
            return Collections.unmodifiableSet(new LinkedHashSet<>(tensorsRead));
        }
    }

    /** Describes the tensors sharing the longest dotted prefix with {@code name}. */
    String nearby(String name) {
        return TensorNames.nearby(tensors.keySet(), name);
    }

    @Override
    public void close() {
        closed = true;
        closeQuietly(channel);
    }

    @Override
    public String toString() {
        return "SafetensorsFile[" + path + ", tensors=" + tensors.size() + "]";
    }

    private static void closeQuietly(FileChannel channel) {
        try {
            channel.close();
        } catch (IOException ignored) {
            // nothing useful to do: the channel is read-only
        }
    }
}
