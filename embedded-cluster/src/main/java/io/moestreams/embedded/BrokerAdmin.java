package io.moestreams.embedded;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;

/**
 * What the embedded cluster asks of a running broker through the {@link Admin} client: that it answers (after
 * start-up), and that topics exist with their partition counts and a leader for every partition. Polls with a short
 * pause and a deadline; every timeout names the broker, the topics and the last problem seen.
 */
final class BrokerAdmin {

    private static final Duration READY_TIMEOUT = Duration.ofSeconds(60);
    private static final Duration TOPICS_TIMEOUT = Duration.ofSeconds(30);

    private BrokerAdmin() {}

    /** Returns once the broker at {@code bootstrap} answers describeCluster with at least one node. */
    static void awaitReady(String bootstrap, BrokerSecurity security) {
        long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
        Exception lastError = null;
        Map<String, Object> config = new HashMap<>(adminConfig(bootstrap));
        if (security != null) {
            config.putAll(security.clientProperties(BrokerSecurity.ADMIN_USER));
        }
        try (Admin admin = Admin.create(config)) {
            while (System.nanoTime() < deadline) {
                try {
                    if (!admin.describeCluster()
                            .nodes()
                            .get(5, TimeUnit.SECONDS)
                            .isEmpty()) {
                        return;
                    }
                } catch (ExecutionException | TimeoutException e) {
                    lastError = e;
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException(
                            "interrupted while waiting for the Kafka broker at " + bootstrap, e);
                }
                pause(50);
            }
        }
        throw new IllegalStateException(
                "Kafka broker at " + bootstrap + " did not answer describeCluster within " + READY_TIMEOUT.toSeconds()
                        + " s" + (lastError == null ? "" : ": " + lastError),
                lastError);
    }

    /**
     * Creates the topics (replication factor 1) and returns once every partition of each has a leader.
     * A topic that already exists with the requested partition count is accepted.
     *
     * @param bootstrapServers  the cluster to create them on
     * @param partitionsByTopic partition count (>= 1) by topic name
     */
    static void createTopics(String bootstrapServers, Map<String, Integer> partitionsByTopic) {
        Objects.requireNonNull(bootstrapServers, "bootstrapServers");
        Objects.requireNonNull(partitionsByTopic, "partitionsByTopic");
        List<NewTopic> topics = new ArrayList<>();
        partitionsByTopic.forEach((topic, partitions) -> {
            if (topic == null || topic.isBlank()) {
                throw new IllegalArgumentException("topic name must not be blank, was '" + topic + "'");
            }
            if (partitions == null || partitions < 1) {
                throw new IllegalArgumentException(
                        "partition count of topic " + topic + " must be >= 1, was " + partitions);
            }
            topics.add(new NewTopic(topic, partitions, (short) 1));
        });
        if (topics.isEmpty()) {
            return;
        }
        long deadline = System.nanoTime() + TOPICS_TIMEOUT.toNanos();
        try (Admin admin = Admin.create(adminConfig(bootstrapServers))) {
            admin.createTopics(topics).values().forEach((topic, future) -> {
                try {
                    future.get(TOPICS_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
                } catch (ExecutionException e) {
                    if (!(e.getCause() instanceof TopicExistsException)) {
                        throw new IllegalStateException(
                                "could not create topic " + topic + " on " + bootstrapServers + ": " + e.getCause(),
                                e.getCause());
                    }
                } catch (TimeoutException e) {
                    throw new IllegalStateException(
                            "creating topic " + topic + " on " + bootstrapServers + " did not complete within "
                                    + TOPICS_TIMEOUT.toSeconds() + " s",
                            e);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException("interrupted while creating topic " + topic, e);
                }
            });
            awaitTopics(admin, bootstrapServers, partitionsByTopic, deadline);
        }
    }

    private static void awaitTopics(Admin admin, String bootstrap, Map<String, Integer> expected, long deadline) {
        Set<String> pending = new HashSet<>(expected.keySet());
        String lastProblem = "not described yet";
        while (true) {
            try {
                Map<String, TopicDescription> described =
                        admin.describeTopics(pending).allTopicNames().get(5, TimeUnit.SECONDS);
                for (TopicDescription description : described.values()) {
                    int want = expected.get(description.name());
                    int have = description.partitions().size();
                    if (have != want) {
                        throw new IllegalStateException("topic " + description.name() + " on " + bootstrap
                                + " exists with " + have + " partitions, expected " + want);
                    }
                    if (description.partitions().stream()
                            .map(TopicPartitionInfo::leader)
                            .allMatch(Objects::nonNull)) {
                        pending.remove(description.name());
                    } else {
                        lastProblem = "topic " + description.name() + " has a partition without leader";
                    }
                }
                if (pending.isEmpty()) {
                    return;
                }
            } catch (ExecutionException e) {
                if (!(e.getCause() instanceof UnknownTopicOrPartitionException)) {
                    throw new IllegalStateException(
                            "could not describe topics " + pending + " on " + bootstrap + ": " + e.getCause(),
                            e.getCause());
                }
                lastProblem = e.getCause().getMessage();
            } catch (TimeoutException e) {
                lastProblem = "describeTopics timed out";
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for topics " + pending, e);
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("topics " + pending + " on " + bootstrap + " were not ready within "
                        + TOPICS_TIMEOUT.toSeconds() + " s: " + lastProblem);
            }
            pause(50);
        }
    }

    private static Map<String, Object> adminConfig(String bootstrap) {
        return Map.of(
                AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG,
                bootstrap,
                AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG,
                5000,
                AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG,
                10000,
                AdminClientConfig.RETRY_BACKOFF_MS_CONFIG,
                50);
    }

    private static void pause(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for the Kafka broker", e);
        }
    }
}
