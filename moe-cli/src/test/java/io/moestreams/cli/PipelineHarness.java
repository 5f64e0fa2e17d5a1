package io.moestreams.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.moestreams.avro.ExpertResult;
import io.moestreams.avro.InferenceResponse;
import io.moestreams.compute.ffn.Nd4jBackend;
import io.moestreams.core.config.MoeConfig;
import io.moestreams.core.gen.ModelGenerator;
import io.moestreams.core.gen.RequestGenerator;
import io.moestreams.core.jsonl.RequestJsonlReader;
import io.moestreams.core.jsonl.RequestLine;
import io.moestreams.core.jsonl.ResponseLine;
import io.moestreams.core.jsonl.ResponseStatus;
import io.moestreams.core.model.ExpertSelection;
import io.moestreams.core.model.MoeModel;
import io.moestreams.core.model.SafetensorsDtype;
import io.moestreams.core.reference.LayerOutput;
import io.moestreams.core.reference.ReferenceMoeLayer;
import io.moestreams.embedded.EmbeddedStack;
import io.moestreams.embedded.SharedStack;
import io.moestreams.schemas.SchemaRegistryClient;
import io.moestreams.schemas.Topics;
import io.moestreams.schemas.TypedTopics;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import java.util.stream.Collectors;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.StringDeserializer;

/** Test support: a generated model, requests, a pipeline on the shared embedded stack with its own topics. */
final class PipelineHarness {

    private static final AtomicInteger RUN = new AtomicInteger();

    final EmbeddedStack stack = SharedStack.get();
    final int run = RUN.incrementAndGet();
    final Topics topics = new Topics("it" + run + "-" + System.nanoTime() % 100000 + ".");
    final SimpleMeterRegistry meters = new SimpleMeterRegistry();

    static MoeConfig model(
            Path dir,
            String format,
            String router,
            String activation,
            Double capacityFactor,
            String overflow,
            int hidden,
            int ffn,
            int experts,
            long seed)
            throws Exception {
        MoeConfig config = GenerateModelCommand.config(
                format, hidden, ffn, experts, router, activation, capacityFactor, overflow, "", seed);
        ModelGenerator.generate(dir, config, SafetensorsDtype.parseWritable("F32"));
        return config;
    }

    static List<RequestLine> requests(Path dir, int count, int hidden, int minLen, int maxLen, long seed)
            throws Exception {
        Path file = dir.resolve("requests-" + seed + ".jsonl");
        RequestGenerator.generate(file, count, hidden, minLen, maxLen, seed);
        List<RequestLine> lines = new ArrayList<>();
        try (RequestJsonlReader in = RequestJsonlReader.open(file, hidden)) {
            for (RequestLine l = in.next(); l != null; l = in.next()) {
                lines.add(l);
            }
        }
        Files.delete(file);
        return lines;
    }

    LocalPipeline start(Path modelDir, List<Set<Integer>> expertGroups, Map<String, String> gatewayExtra) {
        return start(modelDir, null, expertGroups, gatewayExtra);
    }

    /** A pipeline serving layer {@code layer} of a Hugging Face checkpoint (null for a moe.json model). */
    LocalPipeline start(
            Path modelDir, String layer, List<Set<Integer>> expertGroups, Map<String, String> gatewayExtra) {
        List<String> specs = expertGroups.stream()
                .map(g -> g.stream().map(String::valueOf).collect(Collectors.joining(",")))
                .toList();
        return startSpecs(modelDir, layer, specs, gatewayExtra);
    }

    /** Expert processes by spec ({@code 0-3}, {@code 4-7,shared}). */
    LocalPipeline startSpecs(Path modelDir, String layer, List<String> expertGroups, Map<String, String> gatewayExtra) {
        Map<String, String> g = new LinkedHashMap<>();
        g.put("moe.gateway.application-id", "gw-it" + run);
        Map<String, String> e = new LinkedHashMap<>();
        e.put("moe.expert.group-prefix", "ex-it" + run + "-");
        if (layer != null) {
            g.put("moe.model.layer", layer);
            e.put("moe.model.layer", layer);
        }
        g.putAll(gatewayExtra);
        return LocalPipeline.start(
                modelDir,
                stack.bootstrapServers(),
                stack.schemaRegistryUrl(),
                topics.prefix(),
                expertGroups,
                g,
                e,
                meters);
    }

    InferenceClient client() {
        return new InferenceClient(stack.bootstrapServers(), stack.schemaRegistryUrl(), topics, Map.of());
    }

    static List<InferenceClient.Input> inputs(List<RequestLine> lines) {
        return lines.stream().map(Conversions::input).toList();
    }

    static List<LayerOutput> reference(Path modelDir, List<RequestLine> lines) {
        return reference(modelDir, null, lines);
    }

    static List<LayerOutput> reference(Path modelDir, String layer, List<RequestLine> lines) {
        List<LayerOutput> out = new ArrayList<>();
        try (MoeModel model = MoeModel.load(modelDir, layer, ExpertSelection.all(), Nd4jBackend.INSTANCE)) {
            ReferenceMoeLayer referenceLayer = new ReferenceMoeLayer(model);
            for (RequestLine l : lines) {
                out.add(referenceLayer.forward(l.id(), l.tokens(), l.seqLen()));
            }
        }
        return out;
    }

    /**
     * The pipeline's answer equals the reference: same experts, weights and dropped positions, and outputs within
     * 1e-5 of the largest reference magnitude of that request.
     */
    static void assertEqualsReference(String id, LayerOutput ref, ResponseLine got) {
        assertEquals(ResponseStatus.OK, got.status(), id + ": " + got.error());
        assertEquals(ref.seqLen(), got.seqLen(), id + " seqLen");
        assertTrue(Arrays.deepEquals(ref.assignment().experts(), got.experts()), id + " experts differ");
        assertTrue(Arrays.deepEquals(ref.assignment().weights(), got.weights()), id + " weights differ");
        assertArrayEquals(ref.assignment().dropped(), got.dropped(), id + " dropped differ");
        float[] r = ref.output();
        float[] o = got.output();
        double maxRef = 0;
        double maxDiff = 0;
        for (int i = 0; i < r.length; i++) {
            maxRef = Math.max(maxRef, Math.abs(r[i]));
            maxDiff = Math.max(maxDiff, Math.abs((double) r[i] - o[i]));
        }
        assertTrue(maxDiff <= 1e-5 * maxRef, id + ": max |diff| " + maxDiff + " > 1e-5 x " + maxRef);
    }

    /** Every committed record of a topic, from the beginning to its current end. */
    <T extends SpecificRecord> List<T> readAll(String topic, Class<T> type) {
        return read(topic, type, -1, Duration.ofSeconds(30));
    }

    /** Committed records of a topic from the beginning, as soon as there are at least {@code count} (or the timeout). */
    <T extends SpecificRecord> List<T> readAtLeast(String topic, Class<T> type, int count, Duration timeout) {
        return read(topic, type, count, timeout);
    }

    private <T extends SpecificRecord> List<T> read(String topic, Class<T> type, int count, Duration timeout) {
        TypedTopics typed = new TypedTopics(topics, new SchemaRegistryClient(stack.schemaRegistryUrl()));
        @SuppressWarnings("unchecked")
        Deserializer<T> values = (Deserializer<T>)
                (type == ExpertResult.class
                        ? typed.expertResults().valueSerde().deserializer()
                        : type == InferenceResponse.class
                                ? typed.responses().valueSerde().deserializer()
                                : typed.deadLetter().valueSerde().deserializer());
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.bootstrapServers());
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        List<T> out = new ArrayList<>();
        try (KafkaConsumer<String, T> c = new KafkaConsumer<>(p, new StringDeserializer(), values)) {
            List<TopicPartition> parts = new ArrayList<>();
            for (PartitionInfo pi : c.partitionsFor(topic)) {
                parts.add(new TopicPartition(topic, pi.partition()));
            }
            c.assign(parts);
            c.seekToBeginning(parts);
            Map<TopicPartition, Long> end = count < 0 ? c.endOffsets(parts) : Map.of();
            long deadline = System.nanoTime() + timeout.toNanos();
            while (System.nanoTime() < deadline) {
                for (ConsumerRecord<String, T> r : c.poll(Duration.ofMillis(200))) { // waits for records
                    out.add(r.value());
                }
                if (count >= 0 ? out.size() >= count : parts.stream().allMatch(tp -> c.position(tp) >= end.get(tp))) {
                    break;
                }
            }
        }
        return out;
    }

    /** Waits until {@code condition} holds, checking every 20 ms; fails naming {@code what} after {@code timeout}. */
    static void awaitCondition(BooleanSupplier condition, Duration timeout, String what) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out after " + timeout.toSeconds() + " s waiting for " + what);
            }
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
            if (Thread.interrupted()) {
                throw new InterruptedException();
            }
        }
    }
}
