package io.moestreams.core.model;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.moestreams.numerics.HalfFloats;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Writes a {@code .safetensors} file tensor by tensor, without holding all tensors in memory: the header is
 * written from the declared {@link TensorSpec}s, then each tensor's values in declaration order. Floats are
 * narrowed to F16 / BF16 with round-to-nearest-even ({@link HalfFloats}). The header is padded with spaces to a
 * multiple of 8 bytes. The file is written under a temporary name and moved into place by {@link #close()} once
 * every declared tensor has been written.
 */
public final class SafetensorsWriter implements AutoCloseable {

    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final int BLOCK = 1 << 14;

    private final Path target;
    private final Path temp;
    private final List<TensorSpec> specs;
    private final OutputStream out;
    private final ByteBuffer buffer = ByteBuffer.allocate(BLOCK * 4).order(ByteOrder.LITTLE_ENDIAN);
    private int next;
    private boolean closed;

    private SafetensorsWriter(Path target, Path temp, List<TensorSpec> specs, OutputStream out) {
        this.target = target;
        this.temp = temp;
        this.specs = specs;
        this.out = out;
    }

    /**
     * Starts a file with the given tensors (written in this order) and {@code __metadata__} entries.
     */
    public static SafetensorsWriter create(Path file, List<TensorSpec> specs, Map<String, String> metadata)
            throws IOException {
        Objects.requireNonNull(file, "file");
        List<TensorSpec> copy = List.copyOf(specs);
        Set<String> names = new HashSet<>();
        ObjectNode header = MAPPER.createObjectNode();
        if (metadata != null && !metadata.isEmpty()) {
            ObjectNode meta = header.putObject("__metadata__");
            metadata.forEach(meta::put);
        }
        long offset = 0;
        for (TensorSpec spec : copy) {
            if (!names.add(spec.name()) || "__metadata__".equals(spec.name())) {
                throw new IllegalArgumentException("tensor name used twice or reserved: " + spec.name());
            }
            ObjectNode entry = header.putObject(spec.name());
            entry.put("dtype", spec.dtype().name());
            ArrayNode shape = entry.putArray("shape");
            for (long dim : spec.shape()) {
                shape.add(dim);
            }
            long end = offset + spec.byteLength();
            entry.putArray("data_offsets").add(offset).add(end);
            offset = end;
        }
        byte[] json = MAPPER.writeValueAsString(header).getBytes(StandardCharsets.UTF_8);
        int padded = (json.length + 7) / 8 * 8;
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        Path temp = file.resolveSibling(file.getFileName() + ".tmp");
        OutputStream out = new BufferedOutputStream(Files.newOutputStream(temp), 1 << 16);
        try {
            ByteBuffer len =
                    ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, padded);
            out.write(len.array());
            out.write(json);
            for (int i = json.length; i < padded; i++) {
                out.write(' ');
            }
        } catch (IOException e) {
            out.close();
            Files.deleteIfExists(temp);
            throw e;
        }
        return new SafetensorsWriter(file, temp, copy, out);
    }

    /** Writes a whole file from tensors held in memory. */
    public static void write(Path file, List<Tensor> tensors, Map<String, String> metadata) throws IOException {
        try (SafetensorsWriter writer =
                create(file, tensors.stream().map(Tensor::spec).toList(), metadata)) {
            for (Tensor t : tensors) {
                writer.write(t.spec().name(), t.data());
            }
        }
    }

    /**
     * Writes the values of the next declared tensor, converted to its dtype.
     *
     * @throws IllegalArgumentException if the name is not the next declared tensor or the length is wrong
     */
    public void write(String name, float[] data) throws IOException {
        TensorSpec spec = expectNext(name);
        if (data.length != spec.numElements()) {
            throw new IllegalArgumentException("tensor " + name + ": expected " + spec.numElements()
                    + " values for shape " + Arrays.toString(spec.shape()) + ", found " + data.length);
        }
        SafetensorsDtype dtype = spec.dtype();
        if (!dtype.readableAsF32()) {
            throw new IllegalArgumentException(
                    "tensor " + name + ": floats can be written as F32, F16 or BF16, not " + dtype + " (use writeRaw)");
        }
        for (int start = 0; start < data.length; start += BLOCK) {
            int n = Math.min(BLOCK, data.length - start);
            buffer.clear();
            if (dtype == SafetensorsDtype.F32) {
                for (int i = 0; i < n; i++) {
                    buffer.putFloat(data[start + i]);
                }
            } else if (dtype == SafetensorsDtype.F16) {
                for (int i = 0; i < n; i++) {
                    buffer.putShort(HalfFloats.floatToF16(data[start + i]));
                }
            } else {
                for (int i = 0; i < n; i++) {
                    buffer.putShort(HalfFloats.floatToBf16(data[start + i]));
                }
            }
            out.write(buffer.array(), 0, buffer.position());
        }
        next++;
    }

    /** Writes the stored bytes of the next declared tensor as they are (little-endian), for tests and tools. */
    public void writeRaw(String name, byte[] bytes) throws IOException {
        TensorSpec spec = expectNext(name);
        if (bytes.length != spec.byteLength()) {
            throw new IllegalArgumentException(
                    "tensor " + name + ": expected " + spec.byteLength() + " bytes, found " + bytes.length);
        }
        out.write(bytes);
        next++;
    }

    private TensorSpec expectNext(String name) {
        if (closed) {
            throw new IllegalStateException("writer for " + target + " is closed");
        }
        if (next >= specs.size()) {
            throw new IllegalArgumentException("tensor " + name + ": all declared tensors are already written");
        }
        TensorSpec spec = specs.get(next);
        if (!spec.name().equals(name)) {
            throw new IllegalArgumentException("tensor " + name + ": expected the next declared tensor " + spec.name());
        }
        return spec;
    }

    /**
     * Finishes the file. If not every declared tensor was written, the partial file is deleted and an
     * {@link IllegalStateException} names the first missing tensor.
     */
    @Override
    public void close() throws IOException {
        if (closed) {
            return;
        }
        closed = true;
        out.close();
        if (next < specs.size()) {
            Files.deleteIfExists(temp);
            throw new IllegalStateException("safetensors file " + target + " abandoned: tensor "
                    + specs.get(next).name() + " was never written");
        }
        try {
            Files.move(temp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(temp, target, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    /**
     * A tensor held in memory for {@link #write(Path, List, Map)}.
     *
     * @param spec name, dtype, shape
     * @param data row-major values as F32 (narrowed on write)
     */
    public record Tensor(TensorSpec spec, float[] data) {
        public Tensor {
            Objects.requireNonNull(spec, "spec");
            Objects.requireNonNull(data, "data");
        }

        public static Tensor of(String name, SafetensorsDtype dtype, float[] data, long... shape) {
            return new Tensor(new TensorSpec(name, dtype, shape), data);
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Tensor t && spec.equals(t.spec) && Arrays.equals(data, t.data);
        }

        @Override
        public int hashCode() {
            return 31 * spec.hashCode() + Arrays.hashCode(data);
        }

        @Override
        public String toString() {
            return "Tensor[" + spec + "]";
        }
    }
}
