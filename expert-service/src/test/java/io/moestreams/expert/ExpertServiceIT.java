package io.moestreams.expert;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.moestreams.avro.DType;
import io.moestreams.avro.DeadLetter;
import io.moestreams.avro.DispatchBlock;
import io.moestreams.avro.ExpertResult;
import io.moestreams.avro.Tensor;
import io.moestreams.core.config.MoeConfigJson;
import io.moestreams.core.gen.ModelGenerator;
import io.moestreams.core.model.SafetensorsDtype;
import io.moestreams.core.model.SafetensorsFile;
import io.moestreams.embedded.EmbeddedKafka;
import io.moestreams.embedded.EmbeddedStack;
import io.moestreams.schemas.SchemaRegistryClient;
import io.moestreams.schemas.Tensors;
import io.moestreams.schemas.Topics;
import io.moestreams.schemas.TypedTopics;
import io.moestreams.schemas.config.ConfigException;
import io.moestreams.schemas.config.LayeredConfig;
import io.moestreams.schemas.metrics.MoeMeter;
import io.moestreams.testsupport.EmbeddedCluster;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.function.Predicate;
import java.util.function.Supplier;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Expert workers against the real embedded broker and schema registry. */
@EmbeddedCluster
@Timeout(value = 10, unit = TimeUnit.MINUTES)
class ExpertServiceIT {

    private static final int D = 16;
    private static final int F = 24;
    private static final int E = 4;
    private static final String PREFIX = "model.layers.0.block_sparse_moe.";
    private static final String MODEL_JSON = """
            {"format": "mixtral", "tensor_prefix": "%s", "hidden_size": %d, "intermediate_size": %d,
             "num_experts": %d, "router": {"type": "topk_softmax", "top_k": 2, "normalize": true},
             "activation": "silu", "capacity_factor": null, "overflow": "none", "seed": 17}
            """.formatted(PREFIX, D, F, E);
    private static final Duration TIMEOUT = Duration.ofSeconds(120);
    private static final AtomicInteger RUN = new AtomicInteger();

    @TempDir
    static Path modelDir;

    private static EmbeddedStack stack;

    @BeforeAll
    static void startStackAndGenerateModel(EmbeddedStack cluster) throws Exception {
        stack = cluster;
        ModelGenerator.generate(modelDir, MoeConfigJson.parse(MODEL_JSON), SafetensorsDtype.parseWritable("F32"));
    }

    // ======================================================================================== tests

    @Test
    void resultsEqualScaledExpertOutputOfEachBlock() throws Exception {
        try (Fixture fx = new Fixture(Map.of(1, 1, 2, 2))) {
            // Given blocks of 1..5 rows for experts 1 and 2, with attempts 0 and 1, already on their topics
            SplittableRandom rnd = new SplittableRandom(42);
            Map<String, DispatchBlock> sent = new HashMap<>();
            for (int e = 1; e <= 2; e++) {
                for (int i = 0; i < 6; i++) {
                    DispatchBlock b = block("r" + e + "-" + i, e, i % 2, 1 + i % 5, rnd);
                    fx.send(b);
                    sent.put(key(b.getRequestId(), e), b);
                }
            }

            // When one service serves both experts
            List<Received<ExpertResult>> results;
            try (ExpertService service = fx.start(Set.of(1, 2), "w-exact", 512, 5, new SimpleMeterRegistry());
                    Reader<ExpertResult> reader = fx.results()) {
                results = reader.pollUntil(rs -> distinctBlocks(rs) == sent.size(), "a result for every block");
                assertNull(service.failure());
            }

            // Then each result is gateWeight[i] · expert(hidden[i]) of its block, with its identity carried over
            Map<Integer, double[][]> weights = expertWeights(Set.of(1, 2));
            assertEquals(sent.size(), results.size(), "one result per block");
            for (Received<ExpertResult> rec : results) {
                ExpertResult r = rec.value();
                DispatchBlock b = sent.get(key(r.getRequestId(), r.getExpert()));
                assertTrue(b != null, "result for an unknown block " + r.getRequestId() + "/" + r.getExpert());
                assertEquals(b.getRequestId(), rec.key(), "record key is the request id");
                assertEquals(b.getExpert(), r.getExpert());
                assertEquals(b.getAttempt(), r.getAttempt(), "attempt of " + b.getRequestId());
                assertEquals(b.getPositions(), r.getPositions(), "positions of " + b.getRequestId());
                assertEquals("w-exact", r.getWorkerId());
                int n = b.getPositions().size();
                assertEquals(DType.F32, r.getOutput().getDtype());
                assertEquals(List.of(n, D), r.getOutput().getShape(), "output shape of " + b.getRequestId());
                double[] expected = naiveScaledExpert(
                        weights.get(b.getExpert()),
                        Tensors.toFloats(b.getHidden()),
                        Tensors.toFloats(b.getGateWeights()),
                        n);
                assertClose(expected, Tensors.toFloats(r.getOutput()), b.getRequestId() + "/" + b.getExpert());
            }
        }
    }

    @Test
    void loadsOnlyTheServedExperts() throws Exception {
        // Given a model of 4 experts and a service for experts 1 and 3
        try (Fixture fx = new Fixture(Map.of(1, 1, 3, 1))) {
            // When it starts
            try (ExpertService service = fx.start(Set.of(1, 3), "w-load", 512, 5, new SimpleMeterRegistry())) {
                // Then only the gate and those experts' tensors were read
                assertArrayEquals(new int[] {1, 3}, service.model().loadedExperts());
                Set<String> expected = new TreeSet<>(List.of(PREFIX + "gate.weight"));
                for (int e : new int[] {1, 3}) {
                    for (String w : new String[] {"w1", "w2", "w3"}) {
                        expected.add(PREFIX + "experts." + e + "." + w + ".weight");
                    }
                }
                assertEquals(expected, new TreeSet<>(service.model().tensorsRead()));
                assertEquals(0, service.ownedPartitions(0), "expert 0 is not served");
                assertNull(service.failure());
            }

            // When a service is asked for an expert the model does not have
            ConfigException e = assertThrows(
                    ConfigException.class,
                    () -> fx.start(Set.of(1, 7), "w-missing", 512, 5, new SimpleMeterRegistry())
                            .close());

            // Then it fails before starting any worker, naming the setting, the id and the model's expert count
            assertEquals(ExpertConfig.EXPERTS, e.key());
            assertTrue(e.getMessage().contains(ExpertConfig.EXPERTS), e.getMessage());
            assertTrue(e.getMessage().contains("7"), e.getMessage());
            assertTrue(e.getMessage().contains(Integer.toString(E)), e.getMessage());
            assertTrue(
                    Thread.getAllStackTraces().keySet().stream()
                            .noneMatch(t -> t.getName().endsWith("w-missing")),
                    "no worker thread may be started");
        }
    }

    @Test
    void microBatchesAreBoundedByTokens() throws Exception {
        SplittableRandom rnd = new SplittableRandom(7);
        int maxTokens = 8;
        try (Fixture small = new Fixture(Map.of(0, 1))) {
            // Given 30 small blocks (1..3 rows) queued on expert 0 before the worker starts, a bound of 8 tokens
            int largest = 0;
            int totalRows = 0;
            for (int i = 0; i < 30; i++) {
                int rows = 1 + i % 3;
                small.send(block("small-" + i, 0, 0, rows, rnd));
                largest = Math.max(largest, rows);
                totalRows += rows;
            }

            // When the worker drains them
            SimpleMeterRegistry meters = new SimpleMeterRegistry();
            try (ExpertService service = small.start(Set.of(0), "w-small", maxTokens, 1000, meters);
                    Reader<ExpertResult> reader = small.results()) {
                reader.pollUntil(rs -> distinctBlocks(rs) == 30, "results of the 30 small blocks");
                assertNull(service.failure());
            }

            // Then no batch exceeds the bound by more than one block's overshoot, and there were several batches
            DistributionSummary bounded = batchTokens(meters);
            assertEquals(totalRows, bounded.totalAmount(), 0.0, "every token computed exactly once");
            assertTrue(bounded.count() > 1, "batches: " + bounded.count());
            assertTrue(
                    bounded.max() >= 1 && bounded.max() <= maxTokens + largest - 1,
                    "largest batch " + bounded.max() + " tokens, bound " + maxTokens + " + " + (largest - 1));
        }

        try (Fixture shared = new Fixture(Map.of(0, 1))) {
            // Given 20 blocks of 2 rows from 20 different requests queued before start, and a large bound
            for (int i = 0; i < 20; i++) {
                shared.send(block("shared-" + i, 0, 0, 2, rnd));
            }

            // When the worker drains them
            SimpleMeterRegistry meters = new SimpleMeterRegistry();
            try (ExpertService service = shared.start(Set.of(0), "w-shared", 512, 200, meters);
                    Reader<ExpertResult> reader = shared.results()) {
                reader.pollUntil(rs -> distinctBlocks(rs) == 20, "results of the 20 blocks");
                assertNull(service.failure());
            }

            // Then blocks of several requests shared a batch
            DistributionSummary large = batchTokens(meters);
            assertEquals(40, large.totalAmount(), 0.0);
            assertTrue(large.count() < 20, "20 blocks took " + large.count() + " batches");
        }
    }

    @Test
    void badBlockGoesToDeadLetterAndWorkerKeepsServing() throws Exception {
        // Given a serving worker
        SplittableRandom rnd = new SplittableRandom(3);
        try (Fixture fx = new Fixture(Map.of(0, 1));
                ExpertService service = fx.start(Set.of(0), "w-bad", 512, 5, new SimpleMeterRegistry());
                Reader<ExpertResult> results = fx.results();
                Reader<DeadLetter> deadLetters = fx.deadLetters()) {
            // When a good block, undecodable bytes, a block of the wrong hidden size, a block whose hidden data
            // does not match its shape, and another good block arrive
            fx.send(block("good-1", 0, 0, 2, rnd));
            byte[] garbage = "definitely not avro".getBytes(StandardCharsets.UTF_8);
            RecordMetadata garbageAt = fx.sendRaw(0, "bad-bytes", garbage);
            byte[] wrongSize = fx.serialize(blockOfWidth("bad-size", 2, D + 3, rnd));
            RecordMetadata wrongSizeAt = fx.sendRaw(0, "bad-size", wrongSize);
            DispatchBlock truncated = block("bad-data", 0, 0, 1, rnd);
            truncated.setHidden(Tensor.newBuilder()
                    .setDtype(DType.F32)
                    .setShape(List.of(1, D))
                    .setData(ByteBuffer.wrap(new byte[10]))
                    .build());
            byte[] truncatedBytes = fx.serialize(truncated);
            RecordMetadata truncatedAt = fx.sendRaw(0, "bad-data", truncatedBytes);
            fx.send(block("good-2", 0, 0, 3, rnd));

            // Then each bad record is dead-lettered with its original bytes, source and a reason naming the field
            List<Received<DeadLetter>> letters = deadLetters.pollUntil(l -> l.size() >= 3, "three dead letters");
            assertEquals(3, letters.size());
            Map<Long, DeadLetter> byOffset =
                    letters.stream().collect(Collectors.toMap(l -> l.value().getSourceOffset(), Received::value));

            DeadLetter undecodable = byOffset.get(garbageAt.offset());
            assertDeadLetter(undecodable, fx.topics.expert(0), garbageAt, "bad-bytes", garbage);
            assertEquals("value", undecodable.getField());
            assertTrue(undecodable.getReason().contains("undecodable"), undecodable.getReason());

            DeadLetter size = byOffset.get(wrongSizeAt.offset());
            assertDeadLetter(size, fx.topics.expert(0), wrongSizeAt, "bad-size", wrongSize);
            assertTrue(size.getField().startsWith("hidden"), size.getField());
            assertTrue(
                    size.getReason().contains("hidden")
                            && size.getReason().contains(Integer.toString(D))
                            && size.getReason().contains(Integer.toString(D + 3)),
                    size.getReason());
            assertEquals("bad-size", size.getRequestId());

            DeadLetter data = byOffset.get(truncatedAt.offset());
            assertDeadLetter(data, fx.topics.expert(0), truncatedAt, "bad-data", truncatedBytes);
            assertTrue(data.getField().startsWith("hidden"), data.getField());
            assertTrue(data.getReason().contains("hidden"), data.getReason());
            assertEquals("bad-data", data.getRequestId());

            // And the good blocks around them, and one sent afterwards, still get their results
            fx.send(block("good-3", 0, 0, 1, rnd));
            List<Received<ExpertResult>> rs = results.pollUntil(l -> distinctBlocks(l) == 3, "three good results");
            assertEquals(
                    Set.of("good-1", "good-2", "good-3"),
                    rs.stream().map(r -> r.value().getRequestId()).collect(Collectors.toSet()));
            assertNull(service.failure(), () -> "worker failed: " + service.failure());
            assertTrue(service.alive(), "worker threads still running");
        }
    }

    @Test
    void stoppedWorkerFinishesItsBatchAndSuccessorDuplicatesNothing() throws Exception {
        int n = 400;
        try (Fixture fx = new Fixture(Map.of(0, 2));
                Reader<ExpertResult> reader = fx.results()) {
            // Given 400 blocks queued on the two partitions of expert 0, and small batches (many commits)
            SplittableRandom rnd = new SplittableRandom(11);
            Map<String, RecordMetadata> sentAt = new HashMap<>();
            for (int i = 0; i < n; i++) {
                DispatchBlock b = block("eo-" + i, 0, 0, 1 + i % 4, rnd);
                sentAt.put(b.getRequestId(), fx.send(b));
            }

            // When worker A is stopped as soon as it has computed its first batch (its own counter, not the
            // results topic: a reader's first fetch can take longer than A needs for the whole topic)
            SimpleMeterRegistry metersOfA = new SimpleMeterRegistry();
            try (ExpertService a = fx.start(Set.of(0), "a", 4, 5, metersOfA)) {
                await(() -> blocksComputed(metersOfA) > 0, () -> "first batch of worker A");
                assertNull(a.failure());
            }
            // (A stops after its current batch, not after everything it had fetched: ~200 batches here)
            int byA = distinctBlocks(reader.readToEnd());
            assertTrue(byA > 0 && byA < n, "A must stop mid-run; it answered " + byA + " of " + n);
            assertEquals(blocksComputed(metersOfA), byA, "every block A computed has its result committed");

            // And worker B with another id takes over and drains the topic
            try (ExpertService b = fx.start(Set.of(0), "b", 4, 5, new SimpleMeterRegistry())) {
                reader.pollUntil(rs -> distinctBlocks(rs) == n, "a result for every block");
                fx.awaitCommittedToEnd(0);
                assertNull(b.failure());
            }
            List<Received<ExpertResult>> all = reader.readToEnd();

            // Then every block has exactly one committed result
            Map<String, Integer> perBlock = new TreeMap<>();
            for (Received<ExpertResult> r : all) {
                perBlock.merge(key(r.value().getRequestId(), r.value().getExpert()), 1, Integer::sum);
            }
            assertEquals(n, perBlock.size(), "blocks with a result");
            assertTrue(
                    perBlock.values().stream().allMatch(c -> c == 1),
                    "duplicates: "
                            + perBlock.entrySet().stream()
                                    .filter(en -> en.getValue() > 1)
                                    .toList());
            assertEquals(n, all.size());

            // And on each partition A answered a prefix and B the rest: A's results match A's committed offsets
            Map<Integer, Long> lastOfA = new HashMap<>();
            Map<Integer, Long> firstOfB = new HashMap<>();
            for (Received<ExpertResult> r : all) {
                RecordMetadata at = sentAt.get(r.value().getRequestId());
                String worker = r.value().getWorkerId();
                if (worker.equals("a")) {
                    lastOfA.merge(at.partition(), at.offset(), Math::max);
                } else {
                    assertEquals("b", worker);
                    firstOfB.merge(at.partition(), at.offset(), Math::min);
                }
            }
            assertTrue(!lastOfA.isEmpty() && !firstOfB.isEmpty(), "A: " + lastOfA + ", B: " + firstOfB);
            for (Map.Entry<Integer, Long> en : lastOfA.entrySet()) {
                Long b = firstOfB.get(en.getKey());
                assertTrue(
                        b == null || en.getValue() < b,
                        "partition " + en.getKey() + ": A answered up to offset " + en.getValue() + " but B started at "
                                + b);
            }
        }
    }

    @Test
    void twoServicesOnOneExpertSplitItsPartitions() throws Exception {
        // Given expert 0 with two partitions and two services for it in the same consumer group
        SplittableRandom rnd = new SplittableRandom(5);
        try (Fixture fx = new Fixture(Map.of(0, 2));
                ExpertService a = fx.start(Set.of(0), "split-a", 512, 5, new SimpleMeterRegistry());
                ExpertService b = fx.start(Set.of(0), "split-b", 512, 5, new SimpleMeterRegistry());
                Reader<ExpertResult> reader = fx.results()) {
            // When the group settles
            await(
                    () -> a.ownedPartitions(0) == 1 && b.ownedPartitions(0) == 1,
                    () -> "both services own one partition (a: " + a.ownedPartitions(0) + ", b: " + b.ownedPartitions(0)
                            + ")");

            // And blocks arrive on both partitions
            Map<String, Integer> partitionOf = new HashMap<>();
            for (int i = 0; i < 20; i++) {
                DispatchBlock block = block("split-" + i, 0, 0, 2, rnd);
                fx.sendRaw(i % 2, block.getRequestId(), fx.serialize(block));
                partitionOf.put(block.getRequestId(), i % 2);
            }

            // Then both services produce results, each for the blocks of its own partition
            List<Received<ExpertResult>> rs = reader.pollUntil(l -> distinctBlocks(l) == 20, "20 results");
            Map<Integer, Set<String>> workersByPartition = new TreeMap<>();
            for (Received<ExpertResult> r : rs) {
                workersByPartition
                        .computeIfAbsent(partitionOf.get(r.value().getRequestId()), p -> new TreeSet<>())
                        .add(r.value().getWorkerId());
            }
            assertEquals(
                    Set.of("split-a", "split-b"),
                    rs.stream().map(r -> r.value().getWorkerId()).collect(Collectors.toSet()));
            assertTrue(
                    workersByPartition.values().stream().allMatch(s -> s.size() == 1),
                    "one worker per partition: " + workersByPartition);
            assertEquals(1, a.ownedPartitions(0));
            assertEquals(1, b.ownedPartitions(0));
            assertNull(a.failure());
            assertNull(b.failure());
        }
    }

    // ======================================================================================== naive reference

    /** w1 [f,d], w3 [f,d], w2 [d,f] of each expert, as doubles, read straight from the safetensors file. */
    private static Map<Integer, double[][]> expertWeights(Set<Integer> experts) {
        Map<Integer, double[][]> out = new HashMap<>();
        try (SafetensorsFile file = SafetensorsFile.open(modelDir.resolve("model.safetensors"))) {
            for (int e : experts) {
                String base = PREFIX + "experts." + e + ".";
                out.put(e, new double[][] {
                    toDoubles(file.readF32(base + "w1.weight")),
                    toDoubles(file.readF32(base + "w3.weight")),
                    toDoubles(file.readF32(base + "w2.weight"))
                });
            }
        }
        return out;
    }

    private static double[] toDoubles(float[] f) {
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) {
            d[i] = f[i];
        }
        return d;
    }

    /** out[i] = gate[i] · w2 · (silu(w1 · x_i) ⊙ (w3 · x_i)), plain loops in double precision. */
    private static double[] naiveScaledExpert(double[][] w, float[] hidden, float[] gate, int n) {
        double[] w1 = w[0];
        double[] w3 = w[1];
        double[] w2 = w[2];
        double[] out = new double[n * D];
        for (int i = 0; i < n; i++) {
            double[] act = new double[F];
            for (int j = 0; j < F; j++) {
                double a = 0;
                double b = 0;
                for (int k = 0; k < D; k++) {
                    a += w1[j * D + k] * hidden[i * D + k];
                    b += w3[j * D + k] * hidden[i * D + k];
                }
                double silu = a / (1 + Math.exp(-a));
                act[j] = silu * b;
            }
            for (int r = 0; r < D; r++) {
                double y = 0;
                for (int j = 0; j < F; j++) {
                    y += w2[r * F + j] * act[j];
                }
                out[i * D + r] = gate[i] * y;
            }
        }
        return out;
    }

    private static void assertClose(double[] expected, float[] actual, String what) {
        assertEquals(expected.length, actual.length, what + ": element count");
        double scale = 0;
        for (double v : expected) {
            scale = Math.max(scale, Math.abs(v));
        }
        assertTrue(scale > 0, what + ": expected output is all zeros, the check would be vacuous");
        for (int i = 0; i < expected.length; i++) {
            double diff = Math.abs(expected[i] - actual[i]);
            if (diff > 1e-5 * scale) {
                fail(what + ": element " + i + " is " + actual[i] + ", expected " + expected[i] + " (|diff| " + diff
                        + " > 1e-5 x " + scale + ")");
            }
        }
    }

    // ======================================================================================== helpers

    private static String key(String requestId, int expert) {
        return requestId + "/" + expert;
    }

    private static int distinctBlocks(List<Received<ExpertResult>> results) {
        Set<String> keys = new HashSet<>();
        for (Received<ExpertResult> r : results) {
            keys.add(key(r.value().getRequestId(), r.value().getExpert()));
        }
        return keys.size();
    }

    private static DistributionSummary batchTokens(SimpleMeterRegistry meters) {
        return meters.get("moe.expert.batch.tokens").tag("expert", "0").summary();
    }

    /** A block of {@code rows} random rows of width D with ascending positions and gate weights in (0.05, 1). */
    private static DispatchBlock block(String requestId, int expert, int attempt, int rows, SplittableRandom rnd) {
        DispatchBlock b = blockOfWidth(requestId, rows, D, rnd);
        b.setExpert(expert);
        b.setAttempt(attempt);
        return b;
    }

    private static DispatchBlock blockOfWidth(String requestId, int rows, int width, SplittableRandom rnd) {
        List<Integer> positions = new ArrayList<>();
        float[] gate = new float[rows];
        float[] hidden = new float[rows * width];
        int pos = rnd.nextInt(3);
        for (int i = 0; i < rows; i++) {
            positions.add(pos);
            pos += 1 + rnd.nextInt(3);
            gate[i] = (float) (0.05 + 0.95 * rnd.nextDouble());
        }
        for (int i = 0; i < hidden.length; i++) {
            hidden[i] = (float) rnd.nextGaussian();
        }
        return DispatchBlock.newBuilder()
                .setRequestId(requestId)
                .setExpert(0)
                .setAttempt(0)
                .setSeqLen(pos + 1)
                .setPositions(positions)
                .setGateWeights(Tensors.f32(gate, rows))
                .setHidden(Tensors.f32(hidden, rows, width))
                .setDeadlineMs(System.currentTimeMillis() + 600_000)
                .build();
    }

    private static void assertDeadLetter(
            DeadLetter letter, String topic, RecordMetadata at, String key, byte[] original) {
        assertTrue(letter != null, "no dead letter for offset " + at.offset());
        assertEquals(topic, letter.getSourceTopic());
        assertEquals(at.partition(), letter.getSourcePartition());
        assertEquals(at.offset(), letter.getSourceOffset());
        assertEquals(ByteBuffer.wrap(original), letter.getValue(), "original value bytes");
        assertEquals(ByteBuffer.wrap(key.getBytes(StandardCharsets.UTF_8)), letter.getKey(), "original key bytes");
        assertTrue(letter.getReason() != null && !letter.getReason().isBlank(), "reason");
        assertTrue(letter.getTimestampMs() > 0);
    }

    private static long blocksComputed(SimpleMeterRegistry meters) {
        return Math.round(meters.find(MoeMeter.EXPERT_BLOCKS.meterName()).counters().stream()
                .mapToDouble(Counter::count)
                .sum());
    }

    private static void await(BooleanSupplier condition, Supplier<String> what) throws InterruptedException {
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                fail("timed out after " + TIMEOUT.toSeconds() + " s waiting for: " + what.get());
            }
            Thread.sleep(50); // polling interval of the condition, not a synchronisation
        }
    }

    /** A record read back: its key and decoded value. */
    private record Received<V>(String key, V value) {}

    /** Topics (unique prefix), consumer groups and a producer of one test. */
    private static final class Fixture implements AutoCloseable {
        final int run = RUN.incrementAndGet();
        final Topics topics = new Topics("x" + run + ".");
        final String groupPrefix = "x" + run + "-expert-";
        final TypedTopics typed = new TypedTopics(topics, new SchemaRegistryClient(stack.schemaRegistryUrl()));
        private final KafkaProducer<String, byte[]> producer;

        /** Creates the given expert topics (expert → partitions), expert results (2) and dead letter (1). */
        Fixture(Map<Integer, Integer> expertPartitions) {
            Map<String, Integer> create = new LinkedHashMap<>();
            expertPartitions.forEach((e, p) -> create.put(topics.expert(e), p));
            create.put(topics.expertResults(), 2);
            create.put(topics.deadLetter(), 1);
            EmbeddedKafka.createTopics(stack.bootstrapServers(), create);
            Map<String, Object> p = new HashMap<>();
            p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.bootstrapServers());
            p.put(ProducerConfig.ACKS_CONFIG, "all");
            producer = new KafkaProducer<>(p, new StringSerializer(), new ByteArraySerializer());
        }

        @Override
        public void close() {
            producer.close(Duration.ofSeconds(5));
        }

        ExpertService start(
                Set<Integer> experts,
                String workerId,
                int maxBatchTokens,
                int maxBatchWaitMs,
                SimpleMeterRegistry meters) {
            Map<String, String> o = new LinkedHashMap<>();
            o.put(ExpertConfig.BOOTSTRAP, stack.bootstrapServers());
            o.put(ExpertConfig.REGISTRY, stack.schemaRegistryUrl());
            o.put(ExpertConfig.TOPIC_PREFIX, topics.prefix());
            o.put(ExpertConfig.MODEL_DIR, modelDir.toString());
            o.put(ExpertConfig.EXPERTS, experts.stream().map(String::valueOf).collect(Collectors.joining(",")));
            o.put(ExpertConfig.GROUP_PREFIX, groupPrefix);
            o.put(ExpertConfig.MAX_BATCH_TOKENS, Integer.toString(maxBatchTokens));
            o.put(ExpertConfig.MAX_BATCH_WAIT_MS, Integer.toString(maxBatchWaitMs));
            o.put(ExpertConfig.WORKER_ID, workerId);
            return ExpertService.start(
                    ExpertConfig.from(LayeredConfig.load(ExpertConfig.defaults(), null, Map.of(), o)), meters);
        }

        byte[] serialize(DispatchBlock block) {
            String topic = topics.expert(block.getExpert());
            return typed.expert(block.getExpert()).valueSerde().serializer().serialize(topic, block);
        }

        /** Sends a block to its expert's topic (partition by key) and returns where it landed. */
        RecordMetadata send(DispatchBlock block) throws Exception {
            return send(new ProducerRecord<>(topics.expert(block.getExpert()), block.getRequestId(), serialize(block)));
        }

        /** Sends raw bytes to a partition of expert 0's topic. */
        RecordMetadata sendRaw(int partition, String key, byte[] value) throws Exception {
            return send(new ProducerRecord<>(topics.expert(0), partition, key, value));
        }

        private RecordMetadata send(ProducerRecord<String, byte[]> record) throws Exception {
            return producer.send(record).get();
        }

        Reader<ExpertResult> results() {
            return new Reader<>(
                    topics.expertResults(), typed.expertResults().valueSerde().deserializer());
        }

        Reader<DeadLetter> deadLetters() {
            return new Reader<>(
                    topics.deadLetter(), typed.deadLetter().valueSerde().deserializer());
        }

        /** Waits until expert e's consumer group has committed the end of every partition of its topic. */
        void awaitCommittedToEnd(int e) throws Exception {
            String topic = topics.expert(e);
            Map<TopicPartition, Long> ends = endOffsets(topic);
            Map<TopicPartition, Long> committed = new HashMap<>();
            try (Admin admin =
                    Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, stack.bootstrapServers()))) {
                await(
                        () -> {
                            committed.clear();
                            committedOffsets(admin, groupPrefix + e)
                                    .forEach((tp, om) -> committed.put(tp, om.offset()));
                            return committed.equals(ends);
                        },
                        () -> "group " + groupPrefix + e + " committed " + committed + ", end offsets " + ends);
            }
        }
    }

    private static Map<TopicPartition, OffsetAndMetadata> committedOffsets(Admin admin, String group) {
        try {
            return admin.listConsumerGroupOffsets(group)
                    .partitionsToOffsetAndMetadata()
                    .get();
        } catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(ex);
        } catch (ExecutionException ex) {
            throw new IllegalStateException("cannot list the offsets of group " + group, ex);
        }
    }

    private static Map<TopicPartition, Long> endOffsets(String topic) {
        Map<String, Object> p = new HashMap<>();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.bootstrapServers());
        try (KafkaConsumer<String, byte[]> c =
                new KafkaConsumer<>(p, new StringDeserializer(), new ByteArrayDeserializer())) {
            List<TopicPartition> parts = new ArrayList<>();
            for (PartitionInfo info : c.partitionsFor(topic)) {
                parts.add(new TopicPartition(topic, info.partition()));
            }
            return new HashMap<>(c.endOffsets(parts));
        }
    }

    /** Reads a whole topic from the beginning with read_committed, accumulating what it saw. */
    private static final class Reader<V> implements AutoCloseable {
        private final KafkaConsumer<String, byte[]> consumer;
        private final Deserializer<V> deserializer;
        private final List<Received<V>> seen = new ArrayList<>();

        Reader(String topic, Deserializer<V> deserializer) {
            this.deserializer = deserializer;
            Map<String, Object> p = new HashMap<>();
            p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.bootstrapServers());
            p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
            p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
            consumer = new KafkaConsumer<>(p, new StringDeserializer(), new ByteArrayDeserializer());
            List<TopicPartition> parts = new ArrayList<>();
            for (PartitionInfo info : consumer.partitionsFor(topic)) {
                parts.add(new TopicPartition(topic, info.partition()));
            }
            consumer.assign(parts);
            consumer.seekToBeginning(parts);
        }

        private void pollOnce() {
            for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(100))) {
                seen.add(new Received<>(r.key(), deserializer.deserialize(r.topic(), r.value())));
            }
        }

        /** Polls until {@code done} holds for everything seen so far, or fails at the deadline. */
        List<Received<V>> pollUntil(Predicate<List<Received<V>>> done, String what) {
            long deadline = System.nanoTime() + TIMEOUT.toNanos();
            while (!done.test(seen)) {
                if (System.nanoTime() > deadline) {
                    fail("timed out after " + TIMEOUT.toSeconds() + " s waiting for " + what + "; saw " + seen.size()
                            + " records");
                }
                pollOnce();
            }
            return List.copyOf(seen);
        }

        /** Polls up to the last stable offset of every partition (read_committed end offsets). */
        List<Received<V>> readToEnd() {
            Map<TopicPartition, Long> ends = consumer.endOffsets(consumer.assignment());
            return pollUntil(
                    s -> ends.entrySet().stream().allMatch(en -> consumer.position(en.getKey()) >= en.getValue()),
                    "the end of the topic");
        }

        @Override
        public void close() {
            consumer.close();
        }
    }
}
