package io.moestreams.cli;

import io.moestreams.avro.CassetteEntry;
import io.moestreams.avro.InferenceRequest;
import io.moestreams.avro.InferenceResponse;
import io.moestreams.schemas.SchemaRegistryClient;
import io.moestreams.schemas.Topics;
import io.moestreams.schemas.TypedTopics;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.function.Consumer;
import java.util.function.LongConsumer;
import java.util.function.Predicate;
import org.apache.kafka.clients.consumer.CloseOptions;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndTimestamp;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.StringDeserializer;

/**
 * Reads the requests retained on the requests topic (a selection of them) and pairs each with its response on the
 * responses topic, by request id (the record key of both). Reads committed records only, from the offsets the
 * selection implies up to the end offsets taken when reading starts; joins no consumer group and commits nothing.
 *
 * <p>Memory: the selected requests and their responses are held until the end of the read (then handed out in
 * request-timestamp order), so a recording is bounded by the heap; use a time or offset range or
 * {@code --max-requests} for long retention. The first request of an id is recorded, with the first response
 * of that id read (a repeated id gets a REJECTED response of its own, usually later, which is not recorded).
 */
final class TopicRecorder implements AutoCloseable {

    /**
     * Which requests to record.
     *
     * @param fromMs      record timestamps at or after (null: from the start)
     * @param toMs        record timestamps before (null: to the end)
     * @param partition   only this partition of the requests topic (null: all)
     * @param fromOffset  offsets at or after, in every partition read (null: from the start)
     * @param toOffset    offsets before, in every partition read (null: to the end)
     * @param ids         only these request ids (null: any)
     * @param maxRequests at most this many (null: no limit)
     */
    record Selection(
            Long fromMs,
            Long toMs,
            Integer partition,
            Long fromOffset,
            Long toOffset,
            Set<String> ids,
            Integer maxRequests) {

        Selection {
            if (fromMs != null && toMs != null && toMs <= fromMs) {
                throw new IllegalArgumentException(
                        "--until: expected a time after --since (" + fromMs + " ms), found " + toMs + " ms");
            }
            if (partition != null && partition < 0) {
                throw new IllegalArgumentException("--partition: expected >= 0, found " + partition);
            }
            if (fromOffset != null && fromOffset < 0) {
                throw new IllegalArgumentException("--from-offset: expected >= 0, found " + fromOffset);
            }
            if (toOffset != null && toOffset <= (fromOffset == null ? 0 : fromOffset)) {
                throw new IllegalArgumentException("--to-offset: expected more than --from-offset ("
                        + (fromOffset == null ? 0 : fromOffset) + "), found " + toOffset);
            }
            if (maxRequests != null && maxRequests < 1) {
                throw new IllegalArgumentException("--max-requests: expected >= 1, found " + maxRequests);
            }
            ids = ids == null ? null : Set.copyOf(ids);
        }

        /** Everything retained. */
        static Selection all() {
            return new Selection(null, null, null, null, null, null, null);
        }

        /** For the cassette header. */
        String describe() {
            List<String> parts = new ArrayList<>();
            if (fromMs != null) {
                parts.add("since=" + fromMs);
            }
            if (toMs != null) {
                parts.add("until=" + toMs);
            }
            if (partition != null) {
                parts.add("partition=" + partition);
            }
            if (fromOffset != null) {
                parts.add("from-offset=" + fromOffset);
            }
            if (toOffset != null) {
                parts.add("to-offset=" + toOffset);
            }
            if (ids != null) {
                parts.add("ids=" + ids.size());
            }
            if (maxRequests != null) {
                parts.add("max-requests=" + maxRequests);
            }
            return parts.isEmpty() ? "all" : String.join(" ", parts);
        }
    }

    /**
     * What one recording read and kept.
     *
     * @param recordsRead records of both topics examined (reading responses stops once every request has one)
     */
    record Stats(long recordsRead, int recorded, int answered, int undecodable) {}

    /** Called with (records read so far, records to read). */
    interface Progress {
        void update(long done, long total);
    }

    private final Topics topics;
    private final KafkaConsumer<String, byte[]> consumer;
    private final Deserializer<InferenceRequest> requests;
    private final Deserializer<InferenceResponse> responses;

    TopicRecorder(String bootstrap, String registryUrl, Topics topics, Map<String, String> kafka) {
        this.topics = topics;
        TypedTopics typed = new TypedTopics(topics, SchemaRegistryClient.create(registryUrl, kafka));
        this.requests = typed.requests().valueSerde().deserializer();
        this.responses = typed.responses().valueSerde().deserializer();
        Properties p = new Properties();
        p.putAll(kafka);
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        p.put(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, false); // a wrong prefix must not create topics
        p.remove(ConsumerConfig.GROUP_ID_CONFIG);
        this.consumer = new KafkaConsumer<>(p, new StringDeserializer(), new ByteArrayDeserializer());
    }

    /**
     * Records the selection, handing each entry to {@code sink} in request-timestamp order.
     *
     * @throws IllegalStateException when the topics cannot be read within the timeout
     */
    Stats record(Selection selection, Duration timeout, Consumer<CassetteEntry> sink, Progress progress) {
        long deadline = System.nanoTime() + timeout.toNanos();
        Map<TopicPartition, long[]> requestRanges = requestRanges(selection, timeout);
        Map<TopicPartition, long[]> responseRanges = responseRanges(selection, timeout);
        long total = size(requestRanges) + size(responseRanges);
        long[] read = {0};
        LongConsumer advanced = n -> {
            read[0] += n;
            progress.update(Math.min(read[0], total), total);
        };

        Map<String, CassetteEntry.Builder> selected = new LinkedHashMap<>();
        int[] undecodable = {0};
        long examined = read(requestRanges, deadline, advanced, r -> {
            if (r.key() == null || selected.containsKey(r.key())) {
                return true;
            }
            if (selection.ids() != null && !selection.ids().contains(r.key())) {
                return true;
            }
            if (selection.toMs() != null && r.timestamp() >= selection.toMs()) {
                return true;
            }
            InferenceRequest request;
            try {
                request = requests.deserialize(r.topic(), r.headers(), r.value());
            } catch (SerializationException | IllegalArgumentException e) {
                undecodable[0]++; // the gateway dead-lettered it; there is nothing to replay
                return true;
            }
            if (request == null || !r.key().equals(request.getRequestId())) {
                undecodable[0]++;
                return true;
            }
            selected.put(
                    r.key(),
                    CassetteEntry.newBuilder()
                            .setRequestId(r.key())
                            .setRequest(request)
                            .setRequestPartition(r.partition())
                            .setRequestOffset(r.offset())
                            .setRequestTimestampMs(r.timestamp()));
            return selection.maxRequests() == null || selected.size() < selection.maxRequests();
        });

        Map<String, Boolean> answered = new HashMap<>();
        Map<TopicPartition, long[]> responsesToRead = selected.isEmpty() ? Map.of() : responseRanges;
        examined += read(responsesToRead, deadline, advanced, r -> {
            CassetteEntry.Builder b = r.key() == null ? null : selected.get(r.key());
            if (b == null || answered.containsKey(r.key())) {
                return true;
            }
            InferenceResponse response;
            try {
                response = responses.deserialize(r.topic(), r.headers(), r.value());
            } catch (SerializationException | IllegalArgumentException e) {
                return true;
            }
            if (response == null || !r.key().equals(response.getRequestId())) {
                return true;
            }
            b.setResponse(response)
                    .setResponsePartition(r.partition())
                    .setResponseOffset(r.offset())
                    .setResponseTimestampMs(r.timestamp());
            answered.put(r.key(), Boolean.TRUE);
            return answered.size() < selected.size();
        });
        progress.update(total, total);

        List<CassetteEntry> entries = new ArrayList<>(selected.size());
        selected.values().forEach(b -> entries.add(b.build()));
        entries.sort(Comparator.comparingLong(CassetteEntry::getRequestTimestampMs)
                .thenComparingInt(CassetteEntry::getRequestPartition)
                .thenComparingLong(CassetteEntry::getRequestOffset));
        entries.forEach(sink);
        return new Stats(examined, entries.size(), answered.size(), undecodable[0]);
    }

    /** [start, end) per partition of the requests topic, from the selection. */
    private Map<TopicPartition, long[]> requestRanges(Selection s, Duration timeout) {
        List<TopicPartition> parts = partitions(topics.requests(), timeout);
        if (s.partition() != null) {
            TopicPartition only = new TopicPartition(topics.requests(), s.partition());
            if (!parts.contains(only)) {
                throw new IllegalArgumentException("--partition: " + topics.requests() + " has " + parts.size()
                        + " partitions (0.." + (parts.size() - 1) + "), found " + s.partition());
            }
            parts = List.of(only);
        }
        Map<TopicPartition, long[]> ranges = ranges(parts, s.fromMs(), s.toMs(), timeout);
        for (long[] range : ranges.values()) {
            if (s.fromOffset() != null) {
                range[0] = Math.max(range[0], s.fromOffset());
            }
            if (s.toOffset() != null) {
                range[1] = Math.min(range[1], s.toOffset());
            }
        }
        return ranges;
    }

    /** Responses come after their requests: from the time range's start to the end of the topic. */
    private Map<TopicPartition, long[]> responseRanges(Selection s, Duration timeout) {
        return ranges(partitions(topics.responses(), timeout), s.fromMs(), null, timeout);
    }

    private List<TopicPartition> partitions(String topic, Duration timeout) {
        List<PartitionInfo> infos = consumer.partitionsFor(topic, timeout);
        if (infos == null || infos.isEmpty()) {
            throw new IllegalStateException("topic " + topic + " does not exist (wrong --topic-prefix?)");
        }
        List<TopicPartition> parts = new ArrayList<>();
        for (PartitionInfo p : infos) {
            parts.add(new TopicPartition(p.topic(), p.partition()));
        }
        parts.sort(Comparator.comparingInt(TopicPartition::partition));
        return parts;
    }

    private Map<TopicPartition, long[]> ranges(List<TopicPartition> parts, Long fromMs, Long toMs, Duration timeout) {
        Map<TopicPartition, Long> begin = consumer.beginningOffsets(parts, timeout);
        Map<TopicPartition, Long> end = consumer.endOffsets(parts, timeout); // read_committed: the last stable offset
        Map<TopicPartition, OffsetAndTimestamp> from =
                fromMs == null ? Map.of() : offsetsForTimes(parts, fromMs, timeout);
        Map<TopicPartition, OffsetAndTimestamp> to = toMs == null ? Map.of() : offsetsForTimes(parts, toMs, timeout);
        Map<TopicPartition, long[]> ranges = new LinkedHashMap<>();
        for (TopicPartition tp : parts) {
            long start = begin.get(tp);
            long stop = end.get(tp);
            if (fromMs != null) {
                OffsetAndTimestamp o = from.get(tp);
                start = o == null ? stop : Math.max(start, o.offset());
            }
            if (toMs != null && to.get(tp) != null) {
                stop = Math.min(stop, to.get(tp).offset());
            }
            ranges.put(tp, new long[] {start, Math.max(start, stop)});
        }
        return ranges;
    }

    private Map<TopicPartition, OffsetAndTimestamp> offsetsForTimes(
            List<TopicPartition> parts, long ms, Duration timeout) {
        Map<TopicPartition, Long> query = new HashMap<>();
        parts.forEach(tp -> query.put(tp, ms));
        Map<TopicPartition, OffsetAndTimestamp> found = consumer.offsetsForTimes(query, timeout);
        Map<TopicPartition, OffsetAndTimestamp> out = new HashMap<>();
        found.forEach((tp, o) -> {
            if (o != null) {
                out.put(tp, o);
            }
        });
        return out;
    }

    private static long size(Map<TopicPartition, long[]> ranges) {
        return ranges.values().stream().mapToLong(r -> r[1] - r[0]).sum();
    }

    /** Reads each range; {@code each} returns false to stop reading early. Returns the records examined. */
    private long read(
            Map<TopicPartition, long[]> ranges,
            long deadline,
            LongConsumer advanced,
            Predicate<ConsumerRecord<String, byte[]>> each) {
        List<TopicPartition> open = new ArrayList<>();
        ranges.forEach((tp, r) -> {
            if (r[1] > r[0]) {
                open.add(tp);
            }
        });
        long examined = 0;
        if (open.isEmpty()) {
            return examined;
        }
        consumer.assign(open);
        open.forEach(tp -> consumer.seek(tp, ranges.get(tp)[0]));
        Map<TopicPartition, Long> position = new HashMap<>();
        open.forEach(tp -> position.put(tp, ranges.get(tp)[0]));
        while (!open.isEmpty()) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("reading " + open + " did not reach its end offsets within the timeout"
                        + " (--timeout-s); is the cluster reachable?");
            }
            for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                TopicPartition tp = new TopicPartition(r.topic(), r.partition());
                long stop = ranges.get(tp)[1];
                if (!open.contains(tp) || r.offset() >= stop) {
                    continue;
                }
                examined++;
                if (!each.test(r)) {
                    consumer.unsubscribe();
                    return examined;
                }
            }
            for (TopicPartition tp : new ArrayList<>(open)) {
                long stop = ranges.get(tp)[1];
                long now = Math.min(consumer.position(tp), stop);
                advanced.accept(now - position.get(tp));
                position.put(tp, now);
                if (now >= stop) {
                    open.remove(tp);
                    consumer.pause(List.of(tp));
                }
            }
        }
        consumer.unsubscribe();
        return examined;
    }

    @Override
    public void close() {
        consumer.close(CloseOptions.timeout(Duration.ofSeconds(5)));
    }

    @Override
    public String toString() {
        return "TopicRecorder[" + topics.prefix() + "]";
    }
}
