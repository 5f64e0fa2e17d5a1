package io.moestreams.core.hf;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.moestreams.core.config.ModelConfigException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A checkpoint's {@code config.json}, read with the names of both transformers 4.x and 5.x: every getter takes
 * the accepted key names in order and uses the first one present and not null ({@code dtype}/{@code torch_dtype},
 * {@code num_local_experts}/{@code num_experts}, ...). Errors name the file and every accepted key.
 */
public final class HfConfig {

    /** File name of the configuration in a checkpoint directory. */
    public static final String FILE_NAME = "config.json";

    private static final ObjectMapper MAPPER = new ObjectMapper(JsonFactory.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .build());

    private final ObjectNode root;

    private HfConfig(ObjectNode root) {
        this.root = root;
    }

    /** Reads {@code config.json}. */
    public static HfConfig read(Path file) {
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new ModelConfigException(FILE_NAME, "file not found: " + file);
        } catch (IOException e) {
            throw new ModelConfigException(FILE_NAME, "cannot read " + file + ": " + e.getMessage(), e);
        }
        return parse(text);
    }

    /** Parses the text of a {@code config.json}. */
    public static HfConfig parse(String json) {
        JsonNode node;
        try (JsonParser parser = MAPPER.createParser(json)) {
            node = MAPPER.readTree(parser);
        } catch (IOException e) {
            throw new ModelConfigException(FILE_NAME, "invalid JSON: " + e.getMessage(), e);
        }
        if (!(node instanceof ObjectNode object)) {
            throw new ModelConfigException(
                    FILE_NAME,
                    "a JSON object",
                    node == null ? "nothing" : node.getNodeType().name());
        }
        return new HfConfig(object);
    }

    /** {@code model_type}. */
    public String modelType() {
        return requireString("model_type");
    }

    /** The stored dtype ({@code dtype}, v4 {@code torch_dtype}), or null. */
    public String dtype() {
        return string(null, "dtype", "torch_dtype");
    }

    /** True if any of the keys is present with a non-null value. */
    public boolean has(String... keys) {
        return find(keys) != null;
    }

    public int requireInt(String... keys) {
        JsonNode n = find(keys);
        if (n == null) {
            throw missing("an integer", keys);
        }
        return toInt(n, keys);
    }

    public int intOr(int fallback, String... keys) {
        JsonNode n = find(keys);
        return n == null ? fallback : toInt(n, keys);
    }

    public double doubleOr(double fallback, String... keys) {
        JsonNode n = find(keys);
        if (n == null) {
            return fallback;
        }
        if (!n.isNumber()) {
            throw wrong("a number", n, keys);
        }
        return n.doubleValue();
    }

    public boolean boolOr(boolean fallback, String... keys) {
        JsonNode n = find(keys);
        if (n == null) {
            return fallback;
        }
        if (!n.isBoolean()) {
            throw wrong("true or false", n, keys);
        }
        return n.booleanValue();
    }

    public String string(String fallback, String... keys) {
        JsonNode n = find(keys);
        if (n == null) {
            return fallback;
        }
        if (!n.isTextual()) {
            throw wrong("a string", n, keys);
        }
        return n.textValue();
    }

    public String requireString(String... keys) {
        String s = string(null, keys);
        if (s == null) {
            throw missing("a string", keys);
        }
        return s;
    }

    /** An integer list, or the empty list when absent or null. */
    public List<Integer> intList(String... keys) {
        JsonNode n = find(keys);
        List<Integer> out = new ArrayList<>();
        if (n == null) {
            return out;
        }
        if (!n.isArray()) {
            throw wrong("a list of integers", n, keys);
        }
        for (JsonNode v : n) {
            out.add(toInt(v, keys));
        }
        return out;
    }

    /** A nested object (e.g. {@code quantization_config}), or null. */
    public HfConfig object(String key) {
        JsonNode n = find(key);
        if (n == null) {
            return null;
        }
        if (!(n instanceof ObjectNode object)) {
            throw wrong("an object", n, key);
        }
        return new HfConfig(object);
    }

    private JsonNode find(String... keys) {
        for (String k : keys) {
            JsonNode n = root.get(k);
            if (n != null && !n.isNull()) {
                return n;
            }
        }
        return null;
    }

    private static int toInt(JsonNode n, String... keys) {
        if (!n.isIntegralNumber() || !n.canConvertToInt()) {
            throw wrong("an integer", n, keys);
        }
        return n.intValue();
    }

    private static ModelConfigException missing(String what, String... keys) {
        return new ModelConfigException(FILE_NAME + " " + names(keys), what, "no such key");
    }

    private static ModelConfigException wrong(String what, JsonNode n, String... keys) {
        return new ModelConfigException(FILE_NAME + " " + names(keys), what, n.toString());
    }

    private static String names(String... keys) {
        return keys.length == 1 ? keys[0] : String.join(" / ", keys);
    }

    @Override
    public String toString() {
        return "HfConfig[model_type=" + root.path("model_type").asText("?") + "]";
    }
}
