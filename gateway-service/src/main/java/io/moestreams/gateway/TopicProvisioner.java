package io.moestreams.gateway;

import io.moestreams.schemas.Limits;
import io.moestreams.schemas.TopicCatalog;
import io.moestreams.schemas.Topics;
import io.moestreams.schemas.config.ConfigException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.errors.ClusterAuthorizationException;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Creates the platform's topics up front (broker auto-create stays off): requests, one topic per expert with its
 * own partition count, expert-results and manifests (co-partitioned: same count, so the combiner never
 * repartitions), responses and dead-letter. Existing topics are kept (and need no CREATE permission); a
 * co-partitioning mismatch is an error.
 */
public final class TopicProvisioner {

    private static final Logger LOGGER = LoggerFactory.getLogger(TopicProvisioner.class);

    private TopicProvisioner() {}

    /** The topics and their partition counts for a model with routed and shared experts ({@link TopicCatalog}). */
    public static Map<String, Integer> plan(GatewayConfig config, Topics topics, int numExperts, int numShared) {
        for (int expert : config.expertPartitions().keySet()) {
            if (expert >= numExperts) {
                throw new ConfigException(
                        GatewayConfig.EXPERT_PARTITIONS,
                        "expert "
                                + expert + " does not exist: the model has " + numExperts + " experts (0.."
                                + (numExperts - 1) + ")");
            }
        }
        Map<String, Integer> plan = new LinkedHashMap<>();
        for (TopicCatalog.Entry t : TopicCatalog.of(topics, numExperts, numShared)) {
            plan.put(
                    t.name(),
                    switch (t.role()) {
                        case EXPERT -> config.partitionsOf(t.index());
                        case SHARED_EXPERT -> config.sharedExpertPartitions();
                        case DEAD_LETTER, EXPERT_LOAD -> 1;
                        default -> config.defaultPartitions();
                    });
        }
        return plan;
    }

    /**
     * Broker settings of a created topic: every topic takes records up to {@link Limits#MAX_RECORD_BYTES}; the
     * expert-load topic is compacted (the last publication of a window wins) and time-retained
     * ({@code moe.load.retention-ms}).
     */
    static Map<String, String> topicConfigs(GatewayConfig config, Topics topics, String name) {
        Map<String, String> c = new LinkedHashMap<>();
        c.put("max.message.bytes", Integer.toString(Limits.MAX_RECORD_BYTES));
        if (name.equals(topics.expertLoad())) {
            c.put("cleanup.policy", "compact,delete");
            c.put("retention.ms", Long.toString(config.loadRetention().toMillis()));
            c.put("segment.ms", Long.toString(Math.min(config.loadRetention().toMillis(), 3_600_000L)));
        }
        return c;
    }

    /**
     * Creates the planned topics that do not exist yet and checks the co-partitioning of results and manifests.
     * Topics that exist are only described, so a principal with DESCRIBE but no CREATE (least privilege: an admin
     * ran {@code moe init-topics}) passes as long as every topic is there.
     *
     * @throws IllegalStateException naming a topic that is missing and may not be created by this principal, one it
     *     may not describe, or a co-partitioning mismatch
     */
    public static void ensure(Admin admin, GatewayConfig config, Topics topics, int numExperts, int numShared) {
        Map<String, Integer> plan = plan(config, topics, numExperts, numShared);
        try {
            List<NewTopic> create = new ArrayList<>();
            for (String name : missing(admin, plan.keySet())) {
                create.add(new NewTopic(name, plan.get(name), config.replicationFactor())
                        .configs(topicConfigs(config, topics, name)));
            }
            int created = 0;
            if (!create.isEmpty()) {
                for (var entry : admin.createTopics(create).values().entrySet()) {
                    try {
                        entry.getValue().get(30, TimeUnit.SECONDS);
                        created++;
                    } catch (ExecutionException e) {
                        if (e.getCause() instanceof TopicAuthorizationException
                                || e.getCause() instanceof ClusterAuthorizationException) {
                            throw new IllegalStateException(
                                    "topic " + entry.getKey() + " does not exist and this principal may not create "
                                            + "it (no CREATE permission): create the topics first, as an admin, "
                                            + "with `moe init-topics`",
                                    e.getCause());
                        }
                        if (!(e.getCause() instanceof TopicExistsException)) {
                            throw new IllegalStateException(
                                    "cannot create topic " + entry.getKey() + ": "
                                            + e.getCause().getMessage(),
                                    e.getCause());
                        }
                    }
                }
            }
            Map<String, TopicDescription> described = describeOnceVisible(admin, plan.keySet());
            int results = described.get(topics.expertResults()).partitions().size();
            int manifests = described.get(topics.manifests()).partitions().size();
            if (results != manifests) {
                throw new IllegalStateException("topics " + topics.expertResults() + " (" + results
                        + " partitions) and "
                        + topics.manifests() + " (" + manifests + " partitions) must have the same partition count "
                        + "so the combiner can join them without repartitioning");
            }
            LOGGER.info("Topics ready: {} created, {} in all (prefix '{}')", created, plan.size(), topics.prefix());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while creating topics", e);
        } catch (ExecutionException | TimeoutException e) {
            throw new IllegalStateException(
                    "cannot create or describe the platform's topics at " + config.bootstrapServers() + ": "
                            + e.getMessage(),
                    e);
        }
    }

    /** The topics among {@code names} that do not exist (a topic this principal may not describe is an error). */
    private static List<String> missing(Admin admin, Set<String> names)
            throws InterruptedException, TimeoutException, ExecutionException {
        List<String> missing = new ArrayList<>();
        for (var entry : admin.describeTopics(names).topicNameValues().entrySet()) {
            try {
                entry.getValue().get(30, TimeUnit.SECONDS);
            } catch (ExecutionException e) {
                if (e.getCause() instanceof UnknownTopicOrPartitionException) {
                    missing.add(entry.getKey());
                } else if (e.getCause() instanceof TopicAuthorizationException) {
                    throw new IllegalStateException(
                            "this principal may not describe topic " + entry.getKey() + " (no DESCRIBE, READ or WRITE "
                                    + "permission on it; see `moe acl`)",
                            e.getCause());
                } else {
                    throw e;
                }
            }
        }
        return missing;
    }

    /**
     * Describes just-created topics; a broker may answer "unknown topic" until its metadata has caught up with the
     * creation, so that answer is retried for up to 30 s.
     */
    private static Map<String, TopicDescription> describeOnceVisible(Admin admin, Set<String> names)
            throws InterruptedException, ExecutionException, TimeoutException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (true) {
            try {
                return admin.describeTopics(names).allTopicNames().get(30, TimeUnit.SECONDS);
            } catch (ExecutionException e) {
                if (!(e.getCause() instanceof UnknownTopicOrPartitionException) || System.nanoTime() > deadline) {
                    throw e;
                }
                TimeUnit.MILLISECONDS.sleep(50); // retry backoff while metadata propagates
            }
        }
    }
}
