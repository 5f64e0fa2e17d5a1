package io.moestreams.expert;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.CooperativeStickyAssignor;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;

/** The Kafka consumer side of an expert worker: its settings and its offset plumbing. */
final class ExpertConsumers {

    private ExpertConsumers() {}

    /** The consumer of one served expert; user-supplied Kafka properties override the defaults, not the identity. */
    static Properties props(ExpertConfig config, ServedExpert served) {
        Properties p = new Properties();
        // The gateway's dispatch transaction need not commit before experts compute: an aborted dispatch is
        // re-dispatched identically and the combiner keeps one result per (request, expert).
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_uncommitted");
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 500);
        p.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, 100);
        p.put(ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG, CooperativeStickyAssignor.class.getName());
        // A crashed worker's partitions move within seconds (Kafka's default is 45 s).
        p.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, 10_000);
        p.put(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, 2_000);
        p.putAll(config.kafka());
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, config.bootstrapServers());
        p.put(ConsumerConfig.GROUP_ID_CONFIG, served.group());
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        p.put(ConsumerConfig.CLIENT_ID_CONFIG, "moe-expert-" + served.name() + "-" + config.workerId());
        if (config.stableIdentity()) {
            // Static membership: a restarted worker with the same identity takes its partitions back at once.
            p.put(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG, config.workerId() + "-expert-" + served.name());
        }
        return p;
    }

    /** Next offsets as commit offsets, limited to {@code onlyThese} partitions (null: all). */
    static Map<TopicPartition, OffsetAndMetadata> offsets(
            Map<TopicPartition, Long> next, Set<TopicPartition> onlyThese) {
        Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
        next.forEach((tp, offset) -> {
            if (onlyThese == null || onlyThese.contains(tp)) {
                offsets.put(tp, new OffsetAndMetadata(offset));
            }
        });
        return offsets;
    }

    /** Moves every owned partition back to its committed offset (the beginning where none is committed). */
    static void seekToCommitted(KafkaConsumer<String, byte[]> c) {
        Set<TopicPartition> assigned = c.assignment();
        if (assigned.isEmpty()) {
            return;
        }
        Map<TopicPartition, OffsetAndMetadata> committed = c.committed(assigned);
        List<TopicPartition> none = new ArrayList<>();
        for (TopicPartition tp : assigned) {
            OffsetAndMetadata om = committed.get(tp);
            if (om == null) {
                none.add(tp);
            } else {
                c.seek(tp, om.offset());
            }
        }
        if (!none.isEmpty()) {
            c.seekToBeginning(none);
        }
    }
}
