package io.moestreams.cli;

import io.moestreams.schemas.ExpertIds;
import io.moestreams.schemas.Topics;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ListConsumerGroupOffsetsSpec;
import org.apache.kafka.clients.admin.ListOffsetsResult;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;

/**
 * Consumer lag of every expert's consumer group from Kafka Admin: per dispatch target, the offsets of its topic its
 * group has not committed (what KEDA scales on), and the members of the group. Offsets count the transaction markers
 * of the gateway's exactly-once writes too.
 */
final class ExpertLag {

    /** Lag and consumers of one expert. */
    record Lag(long records, int members, int partitions) {}

    private ExpertLag() {}

    /** The lag of wire ids 0..targets-1 (routed experts, then shared ones). */
    static Map<Integer, Lag> snapshot(Admin admin, Topics topics, String groupPrefix, int numExperts, int numShared)
            throws Exception {
        int n = numExperts + numShared;
        List<String> names = new ArrayList<>();
        for (int w = 0; w < n; w++) {
            names.add(topics.dispatch(w, numExperts));
        }
        Map<String, TopicDescription> described =
                admin.describeTopics(names).allTopicNames().get(10, TimeUnit.SECONDS);
        Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
        Map<String, ListConsumerGroupOffsetsSpec> specs = new HashMap<>();
        for (int w = 0; w < n; w++) {
            List<TopicPartition> tps = new ArrayList<>();
            for (int p = 0; p < described.get(names.get(w)).partitions().size(); p++) {
                TopicPartition tp = new TopicPartition(names.get(w), p);
                tps.add(tp);
                latest.put(tp, OffsetSpec.latest());
            }
            specs.put(
                    groupPrefix + ExpertIds.name(w, numExperts),
                    new ListConsumerGroupOffsetsSpec().topicPartitions(tps));
        }
        Map<TopicPartition, ListOffsetsResult.ListOffsetsResultInfo> ends =
                admin.listOffsets(latest).all().get(10, TimeUnit.SECONDS);
        Map<String, Map<TopicPartition, OffsetAndMetadata>> committed =
                admin.listConsumerGroupOffsets(specs).all().get(10, TimeUnit.SECONDS);
        Map<String, Integer> members = new HashMap<>();
        admin.describeConsumerGroups(specs.keySet())
                .all()
                .get(10, TimeUnit.SECONDS)
                .forEach((g, d) -> members.put(g, d.members().size()));
        Map<Integer, Lag> out = new HashMap<>();
        for (int w = 0; w < n; w++) {
            String group = groupPrefix + ExpertIds.name(w, numExperts);
            long lag = 0;
            for (Map.Entry<TopicPartition, ListOffsetsResult.ListOffsetsResultInfo> e : ends.entrySet()) {
                if (e.getKey().topic().equals(names.get(w))) {
                    OffsetAndMetadata c =
                            committed.getOrDefault(group, Map.of()).get(e.getKey());
                    lag += Math.max(0, e.getValue().offset() - (c == null ? 0 : c.offset()));
                }
            }
            out.put(
                    w,
                    new Lag(
                            lag,
                            members.getOrDefault(group, 0),
                            described.get(names.get(w)).partitions().size()));
        }
        return out;
    }
}
