package io.moestreams.core.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class MoeConfigJsonTest {

    private static final String FULL = """
            { "format": "mixtral",
              "tensor_prefix": "model.layers.0.block_sparse_moe.",
              "hidden_size": 4096, "intermediate_size": 14336, "num_experts": 8,
              "router": {"type": "topk_softmax", "top_k": 2, "normalize": true},
              "activation": "silu",
              "capacity_factor": null,
              "overflow": "none" }
            """;

    @Test
    void readsTheDesignExample() {
        // Given the moe.json of docs/architecture.md / When parsed
        MoeConfig c = MoeConfigJson.parse(FULL);
        // Then every field is as written, seed defaults to 0
        assertEquals(ModelFormat.MIXTRAL, c.format());
        assertEquals("model.layers.0.block_sparse_moe.", c.tensorPrefix());
        assertEquals(4096, c.hiddenSize());
        assertEquals(14336, c.intermediateSize());
        assertEquals(8, c.numExperts());
        assertEquals(new RouterConfig(RouterType.TOPK_SOFTMAX, 2, true, false, false), c.router());
        assertEquals(Activation.SILU, c.activation());
        assertNull(c.capacityFactor());
        assertEquals(Overflow.NONE, c.overflow());
        assertEquals(0L, c.seed());
    }

    @Test
    void appliesDefaultsForOptionalKeys() {
        // Given only the required keys
        String json = """
                {"format": "switch", "hidden_size": 8, "intermediate_size": 16, "num_experts": 4,
                 "router": {"type": "switch"}}""";
        // When parsed
        MoeConfig c = MoeConfigJson.parse(json);
        // Then the documented defaults apply (top_k 1 for switch)
        assertEquals("", c.tensorPrefix());
        assertEquals(new RouterConfig(RouterType.SWITCH, 1, true, false, false), c.router());
        assertEquals(Activation.SILU, c.activation());
        assertNull(c.capacityFactor());
        assertEquals(Overflow.NONE, c.overflow());
        assertEquals(0L, c.seed());
        // And the other routers default to top_k 2
        assertEquals(
                2,
                MoeConfigJson.parse(json.replace("\"type\": \"switch\"}", "\"type\": \"noisy_topk\"}"))
                        .router()
                        .topK());
    }

    @Test
    void writeThenParseGivesTheSameConfig() {
        // Given a config using every key with non-default values
        MoeConfig c = new MoeConfig(
                ModelFormat.SWITCH,
                "p.",
                32,
                64,
                6,
                new RouterConfig(RouterType.GSHARD_TOP2, 2, false, true, true),
                Activation.GELU,
                1.25,
                Overflow.REROUTE,
                -9_007_199_254_740_993L);
        // When written and parsed back
        MoeConfig back = MoeConfigJson.parse(MoeConfigJson.write(c));
        // Then equal (also for a null capacity factor)
        assertEquals(c, back);
        MoeConfig noCap = new MoeConfig(
                ModelFormat.MIXTRAL,
                "",
                4,
                4,
                2,
                new RouterConfig(RouterType.TOPK_SOFTMAX, 1, true, false, false),
                Activation.RELU,
                null,
                Overflow.DROP,
                3);
        assertEquals(noCap, MoeConfigJson.parse(MoeConfigJson.write(noCap)));
        assertTrue(MoeConfigJson.write(noCap).contains("\"capacity_factor\" : null"));
    }

    @Test
    void unknownTopLevelKeyIsAnErrorNamingIt() {
        // Given a typo'd key / When parsed / Then the key is named
        ModelConfigException e = assertThrows(
                ModelConfigException.class, () -> MoeConfigJson.parse(FULL.replace("\"overflow\"", "\"overflw\"")));
        assertEquals("overflw", e.field());
        assertTrue(e.getMessage().startsWith("overflw: unknown key"), e.getMessage());
    }

    @Test
    void unknownRouterKeyIsAnErrorNamingIt() {
        // Given an unknown key inside router / When parsed / Then the key is named with its path
        ModelConfigException e = assertThrows(
                ModelConfigException.class,
                () -> MoeConfigJson.parse(FULL.replace("\"normalize\"", "\"renormalize\"")));
        assertEquals("router.renormalize", e.field());
    }

    @ParameterizedTest(name = "{0} = {1}")
    @CsvSource(
            delimiter = '|',
            value = {
                "hidden_size|\"4096\"|hidden_size: expected an integer, found string \"4096\"",
                "hidden_size|4096.5|hidden_size: expected an integer, found number 4096.5",
                "num_experts|true|num_experts: expected an integer, found boolean true",
                "tensor_prefix|7|tensor_prefix: expected a string, found number 7",
                "capacity_factor|\"1.0\"|capacity_factor: expected a number or null, found string \"1.0\"",
                "seed|1.5|seed: expected an integer (64-bit), found number 1.5",
                "router|[]|router: expected an object, found array []",
                "format|\"gpt\"|format: expected one of mixtral, switch, found gpt",
                "activation|\"tanh\"|activation: expected one of silu, relu, gelu, gelu_tanh, found tanh",
                "overflow|null|overflow: expected a string, found null null"
            })
    void wrongTypesNameTheFieldAndTheExpectedType(String key, String value, String message) throws Exception {
        // Given a valid config where one key gets a value of the wrong type
        ObjectMapper mapper = new ObjectMapper();
        ObjectNode root = (ObjectNode) mapper.readTree("""
                {"format": "mixtral", "hidden_size": 8, "intermediate_size": 16, "num_experts": 4,
                 "router": {"type": "topk_softmax"}}""");
        root.set(key, mapper.readTree(value));
        String json = mapper.writeValueAsString(root);
        // When parsed / Then the message names field, expectation and finding
        ModelConfigException e = assertThrows(ModelConfigException.class, () -> MoeConfigJson.parse(json));
        assertEquals(message, e.getMessage());
    }

    @Test
    void wrongRouterTypesNameTheField() {
        // Given router values of the wrong type / When parsed / Then named with the router. path
        String base = """
                {"format": "mixtral", "hidden_size": 8, "intermediate_size": 16, "num_experts": 4, "router": %s}""";
        assertEquals(
                "router.normalize: expected a boolean, found string \"yes\"",
                assertThrows(
                                ModelConfigException.class,
                                () -> MoeConfigJson.parse(
                                        base.formatted("{\"type\": \"topk_softmax\", \"normalize\": \"yes\"}")))
                        .getMessage());
        assertEquals(
                "router.top_k: expected an integer, found number 2.0",
                assertThrows(
                                ModelConfigException.class,
                                () -> MoeConfigJson.parse(
                                        base.formatted("{\"type\": \"topk_softmax\", \"top_k\": 2.0}")))
                        .getMessage());
        assertEquals(
                "router.type: expected a string, found nothing (the key is required)",
                assertThrows(ModelConfigException.class, () -> MoeConfigJson.parse(base.formatted("{}")))
                        .getMessage());
    }

    @Test
    void topKAboveNumExpertsIsAnError() {
        // Given top_k 3 with 2 experts / When parsed / Then
        ModelConfigException e = assertThrows(ModelConfigException.class, () -> MoeConfigJson.parse("""
                {"format": "mixtral", "hidden_size": 8, "intermediate_size": 16, "num_experts": 2,
                 "router": {"type": "topk_softmax", "top_k": 3}}"""));
        assertEquals("router.top_k: expected at most num_experts (2), found 3", e.getMessage());
    }

    @Test
    void missingRequiredKeysAndBrokenJsonAreErrors() {
        // Given / When / Then
        assertEquals(
                "hidden_size: expected an integer, found nothing (the key is required)",
                assertThrows(
                                ModelConfigException.class,
                                () -> MoeConfigJson.parse(FULL.replace("\"hidden_size\": 4096,", "")))
                        .getMessage());
        ModelConfigException broken =
                assertThrows(ModelConfigException.class, () -> MoeConfigJson.parse("{\"format\": \"mixtral\", "));
        assertTrue(broken.getMessage().startsWith("moe.json: invalid JSON"), broken.getMessage());
        ModelConfigException dup = assertThrows(
                ModelConfigException.class,
                () -> MoeConfigJson.parse(
                        FULL.replace("\"overflow\": \"none\"", "\"overflow\": \"none\", " + "\"overflow\": \"drop\"")));
        assertTrue(dup.getMessage().contains("Duplicate field 'overflow'"), dup.getMessage());
        assertTrue(assertThrows(ModelConfigException.class, () -> MoeConfigJson.parse("[]"))
                .getMessage()
                .contains("expected a JSON object"));
        assertTrue(assertThrows(ModelConfigException.class, () -> MoeConfigJson.parse(FULL + " {}"))
                .getMessage()
                .contains("trailing content"));
    }

    @Test
    void readingAMissingFileNamesThePath(@TempDir Path dir) {
        // Given / When / Then
        ModelConfigException e =
                assertThrows(ModelConfigException.class, () -> MoeConfigJson.read(dir.resolve("moe.json")));
        assertTrue(e.getMessage().contains("file not found: " + dir.resolve("moe.json")), e.getMessage());
    }
}
