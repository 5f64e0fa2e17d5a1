package io.moestreams.cli;

import io.moestreams.schemas.TopicCatalog;
import io.moestreams.schemas.Topics;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;

/**
 * The least-privilege ACLs of a deployment, derived from {@link TopicCatalog} and the naming of the services
 * (docs/architecture.md, "Security"): the client writes requests and reads responses; the gateway reads requests,
 * writes dispatch blocks, manifests, rejections and dead letters, reads manifests and results (combiner), and owns its
 * Streams internals (topics, consumer groups and transactional ids prefixed by its application id); each expert
 * group reads only its experts' topics in their consumer groups and writes results and dead letters. Expert workers
 * are idempotent but not transactional: they need no transactional id, and WRITE on a topic implies the
 * IDEMPOTENT_WRITE they need. The autoscaler (KEDA) describes the expert topics and consumer groups (their lag); the
 * gateway describes the expert consumer groups too (cluster-wide flow control) and writes the expert load record. The
 * admin creates and describes the platform's topics ({@code moe init-topics}) and, for {@code moe top} and
 * {@code moe plan}, describes the expert consumer groups and reads the expert load record;
 * applying ACLs takes a super user (or ALTER on the cluster).
 */
final class AclPlan {

    /** Default user names (SCRAM users of {@code moe up --secure}). */
    static final String GATEWAY_USER = "moe-gateway";

    static final String CLIENT_USER = "moe-client";
    static final String ADMIN_USER = "moe-admin";
    static final String KEDA_USER = "moe-keda";
    static final String EXPERT_USER_PREFIX = "moe-expert-";

    /** The group every shared expert lands in (as in {@code moe k8s render}). */
    static final String SHARED_GROUP = "shared";

    /**
     * Who is who: Kafka principals ({@code User:name}) of the services; expert group g is
     * {@code expertPrefix + g}.
     */
    record Principals(String gateway, String client, String admin, String keda, String expertPrefix) {
        Principals {
            Objects.requireNonNull(gateway, "gateway");
            Objects.requireNonNull(client, "client");
            Objects.requireNonNull(admin, "admin");
            Objects.requireNonNull(keda, "keda");
            Objects.requireNonNull(expertPrefix, "expertPrefix");
        }

        static Principals defaults() {
            return new Principals(
                    "User:" + GATEWAY_USER,
                    "User:" + CLIENT_USER,
                    "User:" + ADMIN_USER,
                    "User:" + KEDA_USER,
                    "User:" + EXPERT_USER_PREFIX);
        }

        String expertGroup(String group) {
            return expertPrefix + group;
        }
    }

    /** Naming of the services' Kafka resources (their defaults are the services' defaults). */
    record Naming(Topics topics, String applicationId, String groupPrefix) {
        Naming {
            Objects.requireNonNull(topics, "topics");
            Objects.requireNonNull(applicationId, "applicationId");
            Objects.requireNonNull(groupPrefix, "groupPrefix");
        }
    }

    /** One ALLOW entry. */
    record Grant(String principal, ResourceType type, PatternType pattern, String name, AclOperation operation) {
        AclBinding binding() {
            return new AclBinding(
                    new ResourcePattern(type, name, pattern),
                    new AccessControlEntry(principal, "*", operation, AclPermissionType.ALLOW));
        }

        /** One line in the order of {@code kafka-acls.sh}: principal, permission, operation, resource. */
        String line() {
            return String.format("%-28s ALLOW %-16s %-16s %-8s %s", principal, operation, type, pattern, name);
        }
    }

    private final List<Grant> grants = new ArrayList<>();

    private AclPlan() {}

    /**
     * The plan of a model with {@code numExperts} routed and {@code numShared} shared experts.
     *
     * @param groups the expert groups (name → routed experts), e.g. from {@link ExpertGroups#parse}; shared experts
     *     form one more group, {@link #SHARED_GROUP}
     */
    static List<Grant> build(
            Naming naming, int numExperts, int numShared, Map<String, Set<Integer>> groups, Principals who) {
        AclPlan plan = new AclPlan();
        Topics topics = naming.topics();
        List<TopicCatalog.Entry> catalog = TopicCatalog.of(topics, numExperts, numShared);

        for (TopicCatalog.Entry t : catalog) {
            plan.topic(who.admin(), t.name(), AclOperation.CREATE, AclOperation.DESCRIBE);
        }

        for (TopicCatalog.Entry t : catalog) {
            switch (t.role()) {
                case REQUESTS -> plan.topic(who.client(), t.name(), AclOperation.WRITE);
                case RESPONSES -> plan.topic(who.client(), t.name(), AclOperation.READ);
                default -> {}
            }
        }

        String gw = who.gateway();
        for (TopicCatalog.Entry t : catalog) {
            switch (t.role()) {
                case REQUESTS, EXPERT_RESULTS -> plan.topic(gw, t.name(), AclOperation.READ);
                case EXPERT, SHARED_EXPERT, RESPONSES, DEAD_LETTER, EXPERT_LOAD ->
                    plan.topic(gw, t.name(), AclOperation.WRITE);
                case MANIFESTS -> plan.topic(gw, t.name(), AclOperation.WRITE, AclOperation.READ);
                default -> throw new IllegalStateException("no gateway ACL for topic role " + t.role());
            }
        }
        // Kafka Streams internals of the intake <id> and the combiner <id>-combiner: changelog topics
        // <id>-...-changelog, transactional ids <id>-<process id>-<n> (exactly_once_v2), consumer groups = the ids.
        String internal = naming.applicationId() + "-";
        for (AclOperation op : List.of(
                AclOperation.CREATE,
                AclOperation.DESCRIBE,
                AclOperation.DESCRIBE_CONFIGS,
                AclOperation.READ,
                AclOperation.WRITE,
                AclOperation.DELETE)) {
            plan.add(gw, ResourceType.TOPIC, PatternType.PREFIXED, internal, op);
        }
        plan.add(gw, ResourceType.GROUP, PatternType.LITERAL, naming.applicationId(), AclOperation.READ);
        plan.add(gw, ResourceType.GROUP, PatternType.LITERAL, naming.applicationId() + "-combiner", AclOperation.READ);
        plan.add(gw, ResourceType.TRANSACTIONAL_ID, PatternType.PREFIXED, internal, AclOperation.WRITE);
        plan.add(gw, ResourceType.TRANSACTIONAL_ID, PatternType.PREFIXED, internal, AclOperation.DESCRIBE);

        Map<String, List<String[]>> expertGroups = new LinkedHashMap<>();
        groups.forEach((name, experts) -> {
            List<String[]> served = new ArrayList<>();
            for (int e : experts) {
                served.add(new String[] {topics.expert(e), naming.groupPrefix() + e});
            }
            expertGroups.put(name, served);
        });
        if (numShared > 0) {
            if (groups.containsKey(SHARED_GROUP)) {
                throw new IllegalArgumentException("expert group name '" + SHARED_GROUP
                        + "' is taken by the shared experts of this model; name the group otherwise");
            }
            List<String[]> served = new ArrayList<>();
            for (int j = 0; j < numShared; j++) {
                served.add(new String[] {topics.sharedExpert(j), naming.groupPrefix() + "s" + j});
            }
            expertGroups.put(SHARED_GROUP, served);
        }
        expertGroups.forEach((name, served) -> {
            String p = who.expertGroup(name);
            for (String[] s : served) {
                plan.topic(p, s[0], AclOperation.READ);
                plan.add(p, ResourceType.GROUP, PatternType.LITERAL, s[1], AclOperation.READ);
            }
            plan.topic(p, topics.expertResults(), AclOperation.WRITE);
            plan.topic(p, topics.deadLetter(), AclOperation.WRITE);
        });
        // the autoscaler reads each expert consumer group's lag: committed offsets and end offsets; so do the
        // gateway (cluster-wide flow control: the expert topics' end offsets against the groups' commits) and the
        // admin (moe top, moe plan), who also reads the expert load record
        expertGroups.values().forEach(served -> {
            for (String[] s : served) {
                plan.topic(who.keda(), s[0], AclOperation.DESCRIBE);
                plan.add(who.keda(), ResourceType.GROUP, PatternType.LITERAL, s[1], AclOperation.DESCRIBE);
                plan.add(gw, ResourceType.GROUP, PatternType.LITERAL, s[1], AclOperation.DESCRIBE);
                plan.add(who.admin(), ResourceType.GROUP, PatternType.LITERAL, s[1], AclOperation.DESCRIBE);
            }
        });
        plan.topic(who.admin(), topics.expertLoad(), AclOperation.READ);
        return List.copyOf(plan.grants);
    }

    /** The expert groups of the plan, shared group included: their names in order. */
    static List<String> groupNames(Map<String, Set<Integer>> groups, int numShared) {
        List<String> names = new ArrayList<>(groups.keySet());
        if (numShared > 0) {
            names.add(SHARED_GROUP);
        }
        return names;
    }

    private void topic(String principal, String topic, AclOperation... ops) {
        for (AclOperation op : ops) {
            add(principal, ResourceType.TOPIC, PatternType.LITERAL, topic, op);
        }
    }

    private void add(String principal, ResourceType type, PatternType pattern, String name, AclOperation op) {
        grants.add(new Grant(principal, type, pattern, name, op));
    }
}
