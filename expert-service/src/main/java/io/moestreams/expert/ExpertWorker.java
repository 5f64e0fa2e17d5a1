package io.moestreams.expert;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.moestreams.avro.DeadLetter;
import io.moestreams.avro.DispatchBlock;
import io.moestreams.avro.ExpertResult;
import io.moestreams.core.ffn.ExpertFfn;
import io.moestreams.schemas.SchemaRegistryException;
import io.moestreams.schemas.Tensors;
import io.moestreams.schemas.Topics;
import io.moestreams.schemas.TypedTopics;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.InvalidProducerEpochException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Serves one expert: consumes its topic in the expert's consumer group, drains what is available into a
 * micro-batch bounded by tokens and by time, runs one batched FFN (scaled by the gate weights) over all rows of
 * the batch, and writes the results together with the consumed offsets in one Kafka transaction — a crash
 * neither loses nor double-counts a token: uncommitted work is aborted and consumed again by whoever owns the
 * partition next.
 */
final class ExpertWorker implements Runnable {

    private static final Logger LOGGER = LoggerFactory.getLogger(ExpertWorker.class);

    private record Item(ConsumerRecord<String, byte[]> record, DispatchBlock block, int rows) {}

    private record Bad(ConsumerRecord<String, byte[]> record, String reason, String field, String requestId) {}

    private final ExpertConfig config;
    private final int expert;
    private final ExpertFfn ffn;
    private final int hiddenSize;
    private final Topics topics;
    private final Deserializer<DispatchBlock> blockDeserializer;
    private final Serializer<ExpertResult> resultSerializer;
    private final Serializer<DeadLetter> deadLetterSerializer;
    private final CountDownLatch stopped = new CountDownLatch(1);
    private final Counter tokens;
    private final Counter blocks;
    private final Counter deadLetters;
    private final DistributionSummary batchTokens;
    private final Timer compute;

    private final AtomicInteger ownedPartitions = new AtomicInteger();
    private volatile boolean running = true;
    private volatile Throwable failure;
    private volatile KafkaConsumer<String, byte[]> consumer;
    private final List<Item> pending = new ArrayList<>();
    private final List<Bad> bad = new ArrayList<>();
    private int pendingRows;
    private long batchStartNanos;
    private boolean rewindNeeded;
    private float[] rowBuf = new float[0];
    private float[] scaleBuf = new float[0];
    private float[] outBuf = new float[0];

    ExpertWorker(
            ExpertConfig config,
            int expert,
            ExpertFfn ffn,
            int hiddenSize,
            Topics topics,
            TypedTopics typed,
            MeterRegistry meters) {
        this.config = config;
        this.expert = expert;
        this.ffn = ffn;
        this.hiddenSize = hiddenSize;
        this.topics = topics;
        this.blockDeserializer = typed.expert(expert).valueSerde().deserializer();
        this.resultSerializer = typed.expertResults().valueSerde().serializer();
        this.deadLetterSerializer = typed.deadLetter().valueSerde().serializer();
        String tag = Integer.toString(expert);
        this.tokens = Counter.builder("moe.expert.tokens").tag("expert", tag).register(meters);
        this.blocks = Counter.builder("moe.expert.blocks").tag("expert", tag).register(meters);
        this.deadLetters =
                Counter.builder("moe.expert.dead.letters").tag("expert", tag).register(meters);
        this.batchTokens = DistributionSummary.builder("moe.expert.batch.tokens")
                .tag("expert", tag)
                .register(meters);
        this.compute =
                Timer.builder("moe.expert.batch.compute").tag("expert", tag).register(meters);
    }

    int expert() {
        return expert;
    }

    /** Partitions of the expert's topic this worker owns right now. */
    int ownedPartitions() {
        return ownedPartitions.get();
    }

    Throwable failure() {
        return failure;
    }

    @Override
    public void run() {
        String topic = topics.expert(expert);
        try (KafkaConsumer<String, byte[]> c =
                        new KafkaConsumer<>(consumerProps(), new StringDeserializer(), new ByteArrayDeserializer());
                KafkaProducer<String, byte[]> producer =
                        new KafkaProducer<>(producerProps(), new StringSerializer(), new ByteArraySerializer())) {
            consumer = c;
            producer.initTransactions();
            c.subscribe(List.of(topic), new ConsumerRebalanceListener() {
                @Override
                public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
                    ownedPartitions.set(Math.max(0, c.assignment().size() - partitions.size()));
                    if (!pending.isEmpty() || !bad.isEmpty()) {
                        clearBatch();
                        rewindNeeded = true;
                    }
                }

                @Override
                public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
                    ownedPartitions.set(c.assignment().size());
                    LOGGER.info(
                            "Expert {} worker {} now owns {} partition(s) of {}",
                            expert,
                            config.workerId(),
                            c.assignment().size(),
                            topic);
                }
            });
            LOGGER.info("Expert {} worker {} started on {}", expert, config.workerId(), topic);
            loop(c, producer);
        } catch (WakeupException e) {
            if (running) {
                failure = e;
            }
        } catch (ProducerFencedException | InvalidProducerEpochException e) {
            failure = e;
            LOGGER.error(
                    "Expert {} worker {} was fenced by a newer instance and stops: {}",
                    expert,
                    config.workerId(),
                    e.toString());
        } catch (RuntimeException | Error e) {
            failure = e;
            LOGGER.error("Expert {} worker {} failed", expert, config.workerId(), e);
        } finally {
            consumer = null;
            stopped.countDown();
            LOGGER.info("Expert {} worker {} stopped", expert, config.workerId());
        }
    }

    private void loop(KafkaConsumer<String, byte[]> c, KafkaProducer<String, byte[]> producer) {
        long waitNanos = config.maxBatchWait().toNanos();
        while (running) {
            Duration timeout;
            if (pending.isEmpty() && bad.isEmpty()) {
                timeout = Duration.ofMillis(200);
            } else {
                long left = waitNanos - (System.nanoTime() - batchStartNanos);
                timeout = Duration.ofNanos(Math.max(0, left));
            }
            ConsumerRecords<String, byte[]> records = c.poll(timeout);
            if (rewindNeeded) {
                rewind(c);
                continue;
            }
            try {
                drain(c, producer, records);
            } catch (RegistryUnavailable e) {
                // Transient: nothing of this batch is committed; consume it again once the registry answers.
                LOGGER.warn(
                        "Expert {} worker {}: schema registry unavailable ({}); retrying in {} ms",
                        expert,
                        config.workerId(),
                        e.getMessage(),
                        REGISTRY_RETRY.toMillis());
                rewind(c);
                backOff();
            }
        }
    }

    private void drain(
            KafkaConsumer<String, byte[]> c,
            KafkaProducer<String, byte[]> producer,
            ConsumerRecords<String, byte[]> records) {
        for (ConsumerRecord<String, byte[]> r : records) {
            if (!running) {
                return; // stop promptly: what is not committed is consumed again by the next owner
            }
            add(r);
            // the token bound closes the batch mid-poll; the rest of this poll starts the next batch
            if (pendingRows >= config.maxBatchTokens() && !flush(c, producer)) {
                return; // aborted and rewound: the rest of this poll will be consumed again
            }
        }
        boolean full = pendingRows >= config.maxBatchTokens();
        boolean due = (!pending.isEmpty() || !bad.isEmpty())
                && System.nanoTime() - batchStartNanos >= config.maxBatchWait().toNanos();
        if (full || due || (records.isEmpty() && (!pending.isEmpty() || !bad.isEmpty()))) {
            flush(c, producer);
        }
    }

    /** The registry could not be asked (down, 5xx): retry later instead of dead-lettering good records. */
    static final class RegistryUnavailable extends RuntimeException {
        private static final long serialVersionUID = 1L;

        RegistryUnavailable(Throwable cause) {
            super(cause.getMessage(), cause);
        }
    }

    static final Duration REGISTRY_RETRY = Duration.ofSeconds(1);

    private void backOff() {
        synchronized (this) {
            try {
                wait(REGISTRY_RETRY.toMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                running = false;
            }
        }
    }

    private void add(ConsumerRecord<String, byte[]> r) {
        if (pending.isEmpty() && bad.isEmpty()) {
            batchStartNanos = System.nanoTime();
        }
        DispatchBlock block;
        try {
            block = blockDeserializer.deserialize(r.topic(), r.headers(), r.value());
            if (block == null) {
                throw new SerializationException("empty record");
            }
        } catch (SerializationException e) {
            if (SchemaRegistryException.isTransient(e)) {
                throw new RegistryUnavailable(e);
            }
            bad.add(new Bad(r, "undecodable dispatch block: " + e.getMessage(), "value", r.key()));
            return;
        }
        String problem = check(block);
        if (problem != null) {
            bad.add(new Bad(r, problem, problem.substring(0, problem.indexOf(':')), block.getRequestId()));
            return;
        }
        int n = block.getPositions().size();
        pending.add(new Item(r, block, n));
        pendingRows += n;
    }

    private String check(DispatchBlock block) {
        if (block.getExpert() != expert) {
            return "expert: block for expert " + block.getExpert() + " arrived on the topic of expert " + expert;
        }
        try {
            Tensors.validate(block.getHidden(), "hidden");
        } catch (IllegalArgumentException e) {
            return "hidden: " + e.getMessage();
        }
        try {
            Tensors.validate(block.getGateWeights(), "gateWeights");
        } catch (IllegalArgumentException e) {
            return "gateWeights: " + e.getMessage();
        }
        List<Integer> shape = block.getHidden().getShape();
        int n = block.getPositions().size();
        if (shape.size() != 2 || shape.get(1) != hiddenSize) {
            return "hidden.shape: expected [" + n + ", " + hiddenSize + "], found " + shape;
        }
        if (shape.get(0) != n
                || block.getGateWeights().getShape().size() != 1
                || block.getGateWeights().getShape().get(0) != n) {
            return "positions: " + n + " positions but hidden has " + shape.get(0) + " rows and gateWeights "
                    + block.getGateWeights().getShape();
        }
        return null;
    }

    /** Computes and commits the batch; false if the transaction was aborted and the partitions rewound. */
    private boolean flush(KafkaConsumer<String, byte[]> c, KafkaProducer<String, byte[]> producer) {
        int n = pendingRows;
        int d = hiddenSize;
        List<ProducerRecord<String, byte[]>> out = new ArrayList<>(pending.size() + bad.size());
        String resultsTopic = topics.expertResults();
        if (n > 0) {
            ensureCapacity(n * d, n);
            int row = 0;
            for (Item it : pending) {
                float[] hidden = Tensors.toFloats(it.block.getHidden());
                float[] weights = Tensors.toFloats(it.block.getGateWeights());
                System.arraycopy(hidden, 0, rowBuf, row * d, it.rows * d);
                System.arraycopy(weights, 0, scaleBuf, row, it.rows);
                row += it.rows;
            }
            long t0 = System.nanoTime();
            ffn.forward(rowBuf, n, scaleBuf, outBuf);
            compute.record(System.nanoTime() - t0, TimeUnit.NANOSECONDS);
            batchTokens.record(n);
            row = 0;
            for (Item it : pending) {
                float[] slice = new float[it.rows * d];
                System.arraycopy(outBuf, row * d, slice, 0, slice.length);
                row += it.rows;
                ExpertResult result = ExpertResult.newBuilder()
                        .setRequestId(it.block.getRequestId())
                        .setExpert(expert)
                        .setAttempt(it.block.getAttempt())
                        .setPositions(it.block.getPositions())
                        .setOutput(Tensors.f32(slice, it.rows, d))
                        .setWorkerId(config.workerId())
                        .build();
                out.add(new ProducerRecord<>(
                        resultsTopic, it.block.getRequestId(), serialize(resultSerializer, resultsTopic, result)));
            }
        }
        String dlq = topics.deadLetter();
        for (Bad b : bad) {
            ConsumerRecord<String, byte[]> r = b.record;
            DeadLetter letter = DeadLetter.newBuilder()
                    .setSourceTopic(r.topic())
                    .setSourcePartition(r.partition())
                    .setSourceOffset(r.offset())
                    .setKey(r.key() == null ? null : ByteBuffer.wrap(r.key().getBytes(StandardCharsets.UTF_8)))
                    .setValue(r.value() == null ? null : ByteBuffer.wrap(r.value()))
                    .setReason(b.reason)
                    .setField(b.field)
                    .setRequestId(b.requestId)
                    .setTimestampMs(System.currentTimeMillis())
                    .build();
            out.add(new ProducerRecord<>(dlq, b.requestId, serialize(deadLetterSerializer, dlq, letter)));
        }
        Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
        for (Item it : pending) {
            offsets.merge(
                    new TopicPartition(it.record.topic(), it.record.partition()),
                    new OffsetAndMetadata(it.record.offset() + 1),
                    ExpertWorker::later);
        }
        for (Bad b : bad) {
            offsets.merge(
                    new TopicPartition(b.record.topic(), b.record.partition()),
                    new OffsetAndMetadata(b.record.offset() + 1),
                    ExpertWorker::later);
        }
        int blockCount = pending.size();
        int badCount = bad.size();
        clearBatch();
        try {
            producer.beginTransaction();
            for (ProducerRecord<String, byte[]> rec : out) {
                producer.send(rec);
            }
            producer.sendOffsetsToTransaction(offsets, c.groupMetadata());
            producer.commitTransaction();
            tokens.increment(n);
            blocks.increment(blockCount);
            deadLetters.increment(badCount);
            return true;
        } catch (ProducerFencedException | InvalidProducerEpochException e) {
            throw e;
        } catch (KafkaException e) {
            LOGGER.warn(
                    "Expert {} worker {}: transaction aborted ({}); the batch will be consumed again",
                    expert,
                    config.workerId(),
                    e.toString());
            try {
                producer.abortTransaction();
            } catch (KafkaException abortFailure) {
                throw e;
            }
            rewind(c);
            return false;
        }
    }

    private static <T> byte[] serialize(Serializer<T> serializer, String topic, T value) {
        try {
            return serializer.serialize(topic, value);
        } catch (SerializationException e) {
            if (SchemaRegistryException.isTransient(e)) {
                throw new RegistryUnavailable(e);
            }
            throw e;
        }
    }

    private static OffsetAndMetadata later(OffsetAndMetadata a, OffsetAndMetadata b) {
        return a.offset() >= b.offset() ? a : b;
    }

    private void clearBatch() {
        pending.clear();
        bad.clear();
        pendingRows = 0;
    }

    /** Moves every owned partition back to its committed offset (after an abort or a revocation mid-batch). */
    private void rewind(KafkaConsumer<String, byte[]> c) {
        clearBatch();
        rewindNeeded = false;
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

    private void ensureCapacity(int values, int rows) {
        if (rowBuf.length < values) {
            int cap = Math.max(values, rowBuf.length * 2);
            rowBuf = new float[cap];
            outBuf = new float[cap];
        }
        if (scaleBuf.length < rows) {
            scaleBuf = new float[Math.max(rows, scaleBuf.length * 2)];
        }
    }

    private Properties consumerProps() {
        Properties p = new Properties();
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 500);
        p.putAll(config.kafka());
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, config.bootstrapServers());
        p.put(ConsumerConfig.GROUP_ID_CONFIG, config.groupPrefix() + expert);
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        p.put(ConsumerConfig.CLIENT_ID_CONFIG, "moe-expert-" + expert + "-" + config.workerId());
        return p;
    }

    private Properties producerProps() {
        Properties p = new Properties();
        p.put(ProducerConfig.LINGER_MS_CONFIG, 1);
        p.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, 64 * 1024 * 1024);
        p.putAll(config.kafka());
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, config.bootstrapServers());
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, config.groupPrefix() + expert + "-" + config.workerId());
        p.put(ProducerConfig.CLIENT_ID_CONFIG, "moe-expert-" + expert + "-" + config.workerId() + "-producer");
        return p;
    }

    /** Asks the loop to stop; uncommitted work is aborted (never half-written). */
    void stop() {
        running = false;
        KafkaConsumer<String, byte[]> c = consumer;
        if (c != null) {
            c.wakeup();
        }
    }

    boolean awaitStopped(Duration timeout) throws InterruptedException {
        return stopped.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }
}
