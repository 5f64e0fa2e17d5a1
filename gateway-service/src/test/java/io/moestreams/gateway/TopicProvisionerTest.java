package io.moestreams.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.moestreams.schemas.Topics;
import io.moestreams.schemas.config.ConfigException;
import io.moestreams.schemas.config.LayeredConfig;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class TopicProvisionerTest {

    private static GatewayConfig config(String expertPartitions) {
        Map<String, String> o = new LinkedHashMap<>();
        o.put(GatewayConfig.BOOTSTRAP, "b:9092");
        o.put(GatewayConfig.REGISTRY, "http://r");
        o.put(GatewayConfig.MODEL_DIR, "/m");
        o.put(GatewayConfig.PARTITIONS, "3");
        o.put(GatewayConfig.EXPERT_PARTITIONS, expertPartitions);
        return GatewayConfig.from(LayeredConfig.load(GatewayConfig.defaults(), null, Map.of(), o));
    }

    @Test
    void hotExpertGetsItsOwnPartitionCountAndResultsAreCoPartitionedWithManifests() {
        // Given expert 1 marked hot / When the topics are planned
        Topics t = new Topics("p.");
        Map<String, Integer> plan = TopicProvisioner.plan(config("1:8"), t, 4, 0);

        // Then expert 1 gets 8 partitions, the others the default, and results match manifests
        assertEquals(8, plan.get(t.expert(1)));
        assertEquals(3, plan.get(t.expert(0)));
        assertEquals(plan.get(t.manifests()), plan.get(t.expertResults()));
        assertEquals(4 + 6, plan.size());
        assertEquals(1, plan.get(t.expertLoad()));
    }

    @Test
    void theExpertLoadTopicIsCompactedAndTimeRetained() {
        // Given the default settings / When the topic configs are planned
        Topics t = new Topics("p.");
        GatewayConfig c = config("");
        Map<String, String> load = TopicProvisioner.topicConfigs(c, t, t.expertLoad());
        Map<String, String> requests = TopicProvisioner.topicConfigs(c, t, t.requests());

        // Then the load record keeps the last value per window key and windows for a week; other topics only delete
        assertEquals("compact,delete", load.get("cleanup.policy"));
        assertEquals(Long.toString(Duration.ofDays(7).toMillis()), load.get("retention.ms"));
        assertEquals(null, requests.get("cleanup.policy"));
    }

    @Test
    void partitionOverrideForAnExpertTheModelLacksIsAnError() {
        // Given an override for expert 9 of a 4-expert model / When planned / Then the key and E are named
        ConfigException e =
                assertThrows(ConfigException.class, () -> TopicProvisioner.plan(config("9:4"), new Topics(), 4, 0));
        assertEquals(GatewayConfig.EXPERT_PARTITIONS, e.key());
        assertTrue(e.getMessage().contains("4 experts"), e.getMessage());
    }
}
