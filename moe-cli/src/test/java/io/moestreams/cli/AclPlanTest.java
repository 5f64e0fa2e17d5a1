package io.moestreams.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.moestreams.schemas.Topics;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class AclPlanTest {

    private static final Topics TOPICS = new Topics();

    private static List<AclPlan.Grant> plan(Map<String, Set<Integer>> groups, int numShared) {
        return AclPlan.build(
                new AclPlan.Naming(TOPICS, "moe-gateway", "moe-expert-"),
                8,
                numShared,
                groups,
                AclPlan.Principals.defaults());
    }

    /** Each principal's grants as "OPERATION TYPE PATTERN name" lines. */
    private static Set<String> of(List<AclPlan.Grant> plan, String principal) {
        return plan.stream()
                .filter(g -> g.principal().equals(principal))
                .map(g -> g.operation() + " " + g.type() + " " + g.pattern() + " " + g.name())
                .collect(Collectors.toSet());
    }

    @Test
    void aHotExpertGroupReadsOnlyItsExpertInItsConsumerGroup() {
        // Given expert 3 in a group of its own and the rest in 'cold'
        Map<String, Set<Integer>> groups = new LinkedHashMap<>();
        groups.put("hot", Set.of(3));
        groups.put("cold", Set.of(0, 1, 2, 4, 5, 6, 7));
        // Then the hot group's principal has exactly: read expert.3 in group moe-expert-3, write results and dead
        // letters
        assertEquals(
                Set.of(
                        "READ TOPIC LITERAL moe.expert.3",
                        "READ GROUP LITERAL moe-expert-3",
                        "WRITE TOPIC LITERAL moe.expert-results",
                        "WRITE TOPIC LITERAL moe.dead-letter"),
                of(plan(groups, 0), "User:moe-expert-hot"));
        Set<String> cold = of(plan(groups, 0), "User:moe-expert-cold");
        assertEquals(2 * 7 + 2, cold.size());
        assertFalse(cold.contains("READ TOPIC LITERAL moe.expert.3"));
    }

    @Test
    void sharedExpertsFormTheirOwnGroup() {
        List<AclPlan.Grant> plan = plan(Map.of("all", Set.of(0, 1, 2, 3, 4, 5, 6, 7)), 2);
        assertEquals(
                Set.of(
                        "READ TOPIC LITERAL moe.shared-expert.0",
                        "READ GROUP LITERAL moe-expert-s0",
                        "READ TOPIC LITERAL moe.shared-expert.1",
                        "READ GROUP LITERAL moe-expert-s1",
                        "WRITE TOPIC LITERAL moe.expert-results",
                        "WRITE TOPIC LITERAL moe.dead-letter"),
                of(plan, "User:moe-expert-shared"));
        assertTrue(of(plan, "User:moe-gateway").contains("WRITE TOPIC LITERAL moe.shared-expert.1"));
        assertThrows(IllegalArgumentException.class, () -> plan(Map.of("shared", Set.of(0, 1, 2, 3, 4, 5, 6, 7)), 1));
    }

    @Test
    void theClientWritesRequestsAndReadsResponsesOnly() {
        assertEquals(
                Set.of("WRITE TOPIC LITERAL moe.requests", "READ TOPIC LITERAL moe.responses"),
                of(plan(Map.of("all", Set.of(0, 1, 2, 3, 4, 5, 6, 7)), 0), "User:moe-client"));
    }

    @Test
    void theGatewayOwnsItsStreamsInternalsButReadsNoExpertTopic() {
        Set<String> gw = of(plan(Map.of("all", Set.of(0, 1, 2, 3, 4, 5, 6, 7)), 0), "User:moe-gateway");
        assertTrue(gw.contains("READ TOPIC LITERAL moe.requests"));
        assertTrue(gw.contains("READ TOPIC LITERAL moe.expert-results"));
        assertTrue(gw.contains("READ GROUP LITERAL moe-gateway"));
        assertTrue(gw.contains("READ GROUP LITERAL moe-gateway-combiner"));
        assertTrue(gw.contains("WRITE TRANSACTIONAL_ID PREFIXED moe-gateway-"));
        assertTrue(gw.contains("CREATE TOPIC PREFIXED moe-gateway-"));
        for (int e = 0; e < 8; e++) {
            assertTrue(gw.contains("WRITE TOPIC LITERAL moe.expert." + e));
            assertFalse(gw.contains("READ TOPIC LITERAL moe.expert." + e));
        }
        assertFalse(gw.stream().anyMatch(g -> g.contains("CREATE TOPIC LITERAL")), "the gateway creates no topic");
        // cluster-wide flow control reads the expert groups' commits; the load record is written
        assertTrue(gw.contains("DESCRIBE GROUP LITERAL moe-expert-3"));
        assertFalse(gw.contains("READ GROUP LITERAL moe-expert-3"));
        assertTrue(gw.contains("WRITE TOPIC LITERAL moe.expert-load"));
        assertFalse(gw.stream().anyMatch(g -> g.contains("CLUSTER")), "nothing on the cluster");
    }

    @Test
    void theAutoscalerOnlyDescribesExpertTopicsAndGroups() {
        Set<String> keda = of(plan(Map.of("all", Set.of(0, 1, 2, 3, 4, 5, 6, 7)), 1), "User:moe-keda");
        assertEquals(2 * 9, keda.size());
        assertTrue(keda.contains("DESCRIBE TOPIC LITERAL moe.expert.7"));
        assertTrue(keda.contains("DESCRIBE GROUP LITERAL moe-expert-s0"));
        assertTrue(keda.stream().allMatch(g -> g.startsWith("DESCRIBE ")));
    }

    @Test
    void theAdminReadsTheLoadRecordAndDescribesExpertGroupsForTopAndPlan() {
        Set<String> admin = of(plan(Map.of("all", Set.of(0, 1, 2, 3, 4, 5, 6, 7)), 0), "User:moe-admin");
        assertTrue(admin.contains("READ TOPIC LITERAL moe.expert-load"));
        assertTrue(admin.contains("DESCRIBE GROUP LITERAL moe-expert-7"));
        assertFalse(admin.contains("READ TOPIC LITERAL moe.expert.7"), "the admin reads no expert topic");
        assertFalse(admin.contains("READ TOPIC LITERAL moe.requests"), "nor any payload");
    }
}
