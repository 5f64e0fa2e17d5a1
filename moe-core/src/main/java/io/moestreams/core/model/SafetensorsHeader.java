package io.moestreams.core.model;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.moestreams.core.config.ModelConfigException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * The header of a {@code .safetensors} file, read and validated: the 8-byte little-endian header length, the JSON
 * header {@code {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__"?: {..}}}, and where the data
 * section starts. Every refusal is a {@link ModelConfigException} naming the file or the tensor, with what was
 * expected and what was found. {@link SafetensorsFile} reads tensor bytes on top of it.
 *
 * @param dataStart file offset of the data section
 * @param dataSize length of the data section in bytes
 * @param tensors the tensor entries in header order
 * @param metadata the {@code __metadata__} entries (empty if absent)
 */
record SafetensorsHeader(long dataStart, long dataSize, Map<String, TensorInfo> tensors, Map<String, String> metadata) {

    /** The header size limit of the safetensors format. */
    static final long MAX_HEADER_BYTES = 100L * 1024 * 1024;

    private static final String METADATA_KEY = "__metadata__";

    private static final ObjectMapper MAPPER = new ObjectMapper(JsonFactory.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .build());

    /** Reads and validates the header of the file open on {@code channel}; {@code fileName} names it in errors. */
    static SafetensorsHeader read(FileChannel channel, String fileName) throws IOException {
        long fileSize = channel.size();
        if (fileSize < 8) {
            throw new ModelConfigException(
                    fileName,
                    "at least 8 bytes (the header length)",
                    fileSize + " bytes: file truncated or not a safetensors file");
        }
        ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        readFully(channel, lenBuf, 0);
        long headerLen = lenBuf.getLong(0);
        if (headerLen < 2 || headerLen > MAX_HEADER_BYTES) {
            throw new ModelConfigException(
                    fileName,
                    "a header length between 2 and " + MAX_HEADER_BYTES + " bytes",
                    Long.toUnsignedString(headerLen) + ": not a safetensors file");
        }
        if (8 + headerLen > fileSize) {
            throw new ModelConfigException(
                    fileName,
                    "a header of " + headerLen + " bytes after the 8-byte length",
                    "a file of only " + fileSize + " bytes: file truncated");
        }
        ByteBuffer headerBuf = ByteBuffer.allocate((int) headerLen);
        readFully(channel, headerBuf, 8);
        String headerText = new String(headerBuf.array(), StandardCharsets.UTF_8);
        long dataStart = 8 + headerLen;
        long dataSize = fileSize - dataStart;
        Map<String, String> metadata = new LinkedHashMap<>();
        Map<String, TensorInfo> tensors = parseHeader(fileName, headerText, dataSize, metadata);
        return new SafetensorsHeader(dataStart, dataSize, tensors, metadata);
    }

    private static Map<String, TensorInfo> parseHeader(
            String fileName, String headerText, long dataSize, Map<String, String> metadata) {
        JsonNode root;
        try (JsonParser parser = MAPPER.createParser(headerText)) {
            root = MAPPER.readTree(parser);
        } catch (JsonProcessingException e) {
            throw new ModelConfigException(fileName, "header is not valid JSON: " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new ModelConfigException(fileName, "header cannot be parsed: " + e.getMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new ModelConfigException(
                    fileName,
                    "a JSON object as header",
                    root == null ? "nothing" : root.getNodeType().name().toLowerCase(Locale.ROOT));
        }
        Map<String, TensorInfo> tensors = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> entry = it.next();
            String name = entry.getKey();
            JsonNode node = entry.getValue();
            if (METADATA_KEY.equals(name)) {
                if (!node.isObject()) {
                    throw new ModelConfigException(
                            METADATA_KEY,
                            "an object of strings",
                            node.getNodeType().name());
                }
                node.fields()
                        .forEachRemaining(m -> metadata.put(
                                m.getKey(),
                                m.getValue().isTextual()
                                        ? m.getValue().textValue()
                                        : m.getValue().toString()));
                continue;
            }
            tensors.put(name, parseTensor(name, node, dataSize));
        }
        return tensors;
    }

    private static TensorInfo parseTensor(String name, JsonNode node, long dataSize) {
        if (!node.isObject()) {
            throw new ModelConfigException(name, "an object {dtype, shape, data_offsets}", node.toString());
        }
        for (Iterator<String> keys = node.fieldNames(); keys.hasNext(); ) {
            String key = keys.next();
            if (!key.equals("dtype") && !key.equals("shape") && !key.equals("data_offsets")) {
                throw new ModelConfigException(name, "only the keys dtype, shape, data_offsets", "key " + key);
            }
        }
        JsonNode dtypeNode = node.get("dtype");
        if (dtypeNode == null || !dtypeNode.isTextual()) {
            throw new ModelConfigException(name, "a dtype string", String.valueOf(dtypeNode));
        }
        SafetensorsDtype dtype = SafetensorsDtype.fromHeader(dtypeNode.textValue())
                .orElseThrow(() -> new ModelConfigException(
                        name, "dtype F32, F16 or BF16", "unknown dtype " + dtypeNode.textValue()));
        JsonNode shapeNode = node.get("shape");
        if (shapeNode == null || !shapeNode.isArray()) {
            throw new ModelConfigException(name, "a shape array", String.valueOf(shapeNode));
        }
        long[] shape = new long[shapeNode.size()];
        for (int i = 0; i < shape.length; i++) {
            JsonNode dim = shapeNode.get(i);
            if (!dim.isIntegralNumber() || !dim.canConvertToLong() || dim.longValue() < 0) {
                throw new ModelConfigException(name, "non-negative integer dimensions", "shape " + shapeNode);
            }
            shape[i] = dim.longValue();
        }
        JsonNode offsets = node.get("data_offsets");
        if (offsets == null
                || !offsets.isArray()
                || offsets.size() != 2
                || !offsets.get(0).isIntegralNumber()
                || !offsets.get(1).isIntegralNumber()
                || !offsets.get(0).canConvertToLong()
                || !offsets.get(1).canConvertToLong()) {
            throw new ModelConfigException(name, "data_offsets [begin, end]", String.valueOf(offsets));
        }
        long begin = offsets.get(0).longValue();
        long end = offsets.get(1).longValue();
        if (begin < 0 || end < begin) {
            throw new ModelConfigException(name, "data_offsets with 0 <= begin <= end", offsets.toString());
        }
        if (end > dataSize) {
            throw new ModelConfigException(
                    name,
                    "data_offsets within the data section of " + dataSize + " bytes",
                    offsets + ": file truncated");
        }
        long expectedBytes;
        try {
            long count = 1;
            for (long dim : shape) {
                count = Math.multiplyExact(count, dim);
            }
            expectedBytes = Math.multiplyExact(count, dtype.byteSize());
        } catch (ArithmeticException e) {
            throw new ModelConfigException(name, "a shape whose size fits in 64 bits", Arrays.toString(shape));
        }
        if (end - begin != expectedBytes) {
            throw new ModelConfigException(
                    name,
                    expectedBytes + " bytes (shape " + Arrays.toString(shape) + " x " + dtype + " " + dtype.byteSize()
                            + " bytes)",
                    (end - begin) + " bytes in data_offsets " + offsets);
        }
        return new TensorInfo(name, dtype, shape, begin, end);
    }

    private static void readFully(FileChannel channel, ByteBuffer buffer, long position) throws IOException {
        long pos = position;
        while (buffer.hasRemaining()) {
            int n = channel.read(buffer, pos);
            if (n < 0) {
                throw new IOException("unexpected end of file at byte " + pos);
            }
            pos += n;
        }
    }
}
