package io.moestreams.core.config;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeType;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.Locale;
import java.util.Set;

/**
 * Reads and writes {@code moe.json} (docs/architecture.md, "Model formats").
 *
 * <p>Keys: {@code format}, {@code tensor_prefix} (default ""), {@code hidden_size}, {@code intermediate_size},
 * {@code num_experts}, {@code router} {type, top_k (default 2, 1 for switch), normalize (true), noise (false),
 * random_routing (false)}, {@code activation} (silu), {@code capacity_factor} (null), {@code overflow} (none),
 * {@code seed} (0). Unknown keys, duplicate keys and values of the wrong JSON type are errors naming the key.
 * Every error is a {@link ModelConfigException}.
 */
public final class MoeConfigJson {

    /** File name of the configuration inside a model directory. */
    public static final String FILE_NAME = "moe.json";

    private static final Set<String> TOP_LEVEL_KEYS = Set.of(
            "format",
            "tensor_prefix",
            "hidden_size",
            "intermediate_size",
            "num_experts",
            "router",
            "activation",
            "capacity_factor",
            "overflow",
            "seed");
    private static final Set<String> ROUTER_KEYS = Set.of("type", "top_k", "normalize", "noise", "random_routing");

    private static final ObjectMapper MAPPER = new ObjectMapper(JsonFactory.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .build());

    private MoeConfigJson() {}

    /** Reads {@code moe.json} from a file; the message of an I/O problem names the path. */
    public static MoeConfig read(Path moeJson) {
        String text;
        try {
            text = Files.readString(moeJson, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new ModelConfigException(FILE_NAME, "file not found: " + moeJson);
        } catch (IOException e) {
            throw new ModelConfigException(FILE_NAME, "cannot read " + moeJson + ": " + e.getMessage(), e);
        }
        return parse(text);
    }

    /** Parses the text of a {@code moe.json}. */
    public static MoeConfig parse(String json) {
        JsonNode root;
        try (JsonParser parser = MAPPER.createParser(json)) {
            root = MAPPER.readTree(parser);
            if (root != null && parser.nextToken() != null) {
                throw new ModelConfigException(
                        FILE_NAME,
                        "a single JSON object",
                        "trailing content at line " + parser.currentLocation().getLineNr());
            }
        } catch (JsonProcessingException e) {
            throw new ModelConfigException(
                    FILE_NAME,
                    "invalid JSON: " + e.getOriginalMessage() + " (line "
                            + e.getLocation().getLineNr() + ", column "
                            + e.getLocation().getColumnNr() + ")",
                    e);
        } catch (IOException e) {
            throw new ModelConfigException(FILE_NAME, "cannot parse: " + e.getMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new ModelConfigException(FILE_NAME, "a JSON object", root == null ? "nothing" : describe(root));
        }
        checkKeys(root, TOP_LEVEL_KEYS, "");

        ModelFormat format = ModelFormat.fromJson(requiredString(root, "format", ""));
        String prefix = optionalString(root, "tensor_prefix", "", "");
        int hidden = requiredInt(root, "hidden_size", "");
        int intermediate = requiredInt(root, "intermediate_size", "");
        int experts = requiredInt(root, "num_experts", "");

        JsonNode routerNode = root.get("router");
        if (routerNode == null) {
            throw new ModelConfigException("router", "a router object", "nothing");
        }
        if (!routerNode.isObject()) {
            throw new ModelConfigException("router", "an object", describe(routerNode));
        }
        checkKeys(routerNode, ROUTER_KEYS, "router.");
        RouterType type = RouterType.fromJson(requiredString(routerNode, "type", "router."));
        int defaultTopK = type == RouterType.SWITCH ? 1 : 2;
        int topK = optionalInt(routerNode, "top_k", defaultTopK, "router.");
        boolean normalize = optionalBoolean(routerNode, "normalize", true, "router.");
        boolean noise = optionalBoolean(routerNode, "noise", false, "router.");
        boolean randomRouting = optionalBoolean(routerNode, "random_routing", false, "router.");
        RouterConfig router = new RouterConfig(type, topK, normalize, noise, randomRouting);

        Activation activation = Activation.fromJson(optionalString(root, "activation", "silu", ""));
        Double capacityFactor = optionalDouble(root, "capacity_factor");
        Overflow overflow = Overflow.fromJson(optionalString(root, "overflow", "none", ""));
        long seed = optionalLong(root, "seed", 0L);
        return new MoeConfig(
                format, prefix, hidden, intermediate, experts, router, activation, capacityFactor, overflow, seed);
    }

    /** Writes a configuration as pretty-printed {@code moe.json} text with every key present. */
    public static String write(MoeConfig config) {
        ObjectNode root = MAPPER.createObjectNode();
        root.put("format", config.format().json());
        root.put("tensor_prefix", config.tensorPrefix());
        root.put("hidden_size", config.hiddenSize());
        root.put("intermediate_size", config.intermediateSize());
        root.put("num_experts", config.numExperts());
        ObjectNode router = root.putObject("router");
        router.put("type", config.router().type().json());
        router.put("top_k", config.router().topK());
        router.put("normalize", config.router().normalize());
        router.put("noise", config.router().noise());
        router.put("random_routing", config.router().randomRouting());
        root.put("activation", config.activation().json());
        if (config.capacityFactor() == null) {
            root.putNull("capacity_factor");
        } else {
            root.put("capacity_factor", config.capacityFactor().doubleValue());
        }
        root.put("overflow", config.overflow().json());
        root.put("seed", config.seed());
        try {
            return MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(root) + "\n";
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot serialise moe.json", e);
        }
    }

    /** Writes {@code moe.json} into a model directory (creating the directory) and returns the file. */
    public static Path writeTo(Path modelDir, MoeConfig config) throws IOException {
        Files.createDirectories(modelDir);
        Path file = modelDir.resolve(FILE_NAME);
        Files.writeString(file, write(config), StandardCharsets.UTF_8);
        return file;
    }

    private static void checkKeys(JsonNode node, Set<String> allowed, String path) {
        for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
            String key = it.next();
            if (!allowed.contains(key)) {
                throw new ModelConfigException(
                        path + key,
                        "unknown key (allowed: "
                                + String.join(", ", allowed.stream().sorted().toList()) + ")");
            }
        }
    }

    private static String requiredString(JsonNode node, String key, String path) {
        JsonNode v = node.get(key);
        if (v == null) {
            throw new ModelConfigException(path + key, "a string", "nothing (the key is required)");
        }
        if (!v.isTextual()) {
            throw new ModelConfigException(path + key, "a string", describe(v));
        }
        return v.textValue();
    }

    private static String optionalString(JsonNode node, String key, String dflt, String path) {
        JsonNode v = node.get(key);
        if (v == null) {
            return dflt;
        }
        if (!v.isTextual()) {
            throw new ModelConfigException(path + key, "a string", describe(v));
        }
        return v.textValue();
    }

    private static int requiredInt(JsonNode node, String key, String path) {
        JsonNode v = node.get(key);
        if (v == null) {
            throw new ModelConfigException(path + key, "an integer", "nothing (the key is required)");
        }
        return toInt(v, path + key);
    }

    private static int optionalInt(JsonNode node, String key, int dflt, String path) {
        JsonNode v = node.get(key);
        return v == null ? dflt : toInt(v, path + key);
    }

    private static int toInt(JsonNode v, String field) {
        if (!v.isIntegralNumber() || !v.canConvertToInt()) {
            throw new ModelConfigException(field, "an integer", describe(v));
        }
        return v.intValue();
    }

    private static boolean optionalBoolean(JsonNode node, String key, boolean dflt, String path) {
        JsonNode v = node.get(key);
        if (v == null) {
            return dflt;
        }
        if (!v.isBoolean()) {
            throw new ModelConfigException(path + key, "a boolean", describe(v));
        }
        return v.booleanValue();
    }

    private static Double optionalDouble(JsonNode node, String key) {
        JsonNode v = node.get(key);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isNumber()) {
            throw new ModelConfigException(key, "a number or null", describe(v));
        }
        return v.doubleValue();
    }

    private static long optionalLong(JsonNode node, String key, long dflt) {
        JsonNode v = node.get(key);
        if (v == null) {
            return dflt;
        }
        if (!v.isIntegralNumber() || !v.canConvertToLong()) {
            throw new ModelConfigException(key, "an integer (64-bit)", describe(v));
        }
        return v.longValue();
    }

    private static String describe(JsonNode v) {
        JsonNodeType t = v.getNodeType();
        String text = v.toString();
        if (text.length() > 40) {
            text = text.substring(0, 40) + "...";
        }
        return t.name().toLowerCase(Locale.ROOT) + " " + text;
    }
}
