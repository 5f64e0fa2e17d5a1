package io.moestreams.expert;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.kafka.KafkaClientMetrics;
import io.moestreams.avro.DType;
import io.moestreams.avro.DeadLetter;
import io.moestreams.avro.ExpertResult;
import io.moestreams.schemas.DeadLetters;
import io.moestreams.schemas.Limits;
import io.moestreams.schemas.Tensors;
import io.moestreams.schemas.Topics;
import io.moestreams.schemas.TypedTopics;
import io.moestreams.schemas.metrics.MoeMeter;
import java.time.Duration;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.Serializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Writes what expert workers produce — gate-weighted results and dead letters — with one idempotent producer per
 * expert process (shared by its workers; Kafka producers are thread-safe). Sends are asynchronous; each one
 * reports its acknowledgement to the batch's {@link PendingCommits.Ticket}, which decides when the consumed offsets
 * may be committed.
 */
final class ResultSender implements AutoCloseable {

    private final KafkaProducer<String, byte[]> producer;
    private final String resultsTopic;
    private final String deadLetterTopic;
    private final Serializer<ExpertResult> resultSerializer;
    private final Serializer<DeadLetter> deadLetterSerializer;
    private final String workerId;
    private final DType wireDtype;
    private final int hiddenSize;
    private final MeterRegistry meters;
    private final Map<String, Counter> deadLetters = new ConcurrentHashMap<>();
    private final KafkaClientMetrics clientMetrics;

    ResultSender(ExpertConfig config, Topics topics, TypedTopics typed, int hiddenSize, MeterRegistry meters) {
        this.producer = new KafkaProducer<>(producerProps(config), new StringSerializer(), new ByteArraySerializer());
        this.resultsTopic = topics.expertResults();
        this.deadLetterTopic = topics.deadLetter();
        this.resultSerializer = typed.expertResults().valueSerde().serializer();
        this.deadLetterSerializer = typed.deadLetter().valueSerde().serializer();
        this.workerId = config.workerId();
        this.wireDtype = config.wireDtype();
        this.hiddenSize = hiddenSize;
        this.meters = meters;
        this.clientMetrics = new KafkaClientMetrics(producer); // Kafka's producer metrics next to the moe meters
        this.clientMetrics.bindTo(meters);
    }

    /**
     * Sends one result per computed block of {@code batch} (rows of {@code out}) and one dead letter per refused
     * record. Each acknowledgement (or final failure) is reported to {@code ticket}.
     *
     * @throws org.apache.kafka.common.errors.SerializationException if a value cannot be serialized (e.g. the
     *     registry is unreachable)
     */
    void send(ServedExpert expert, MicroBatch batch, float[] out, PendingCommits.Ticket ticket) {
        int d = hiddenSize;
        for (MicroBatch.Item it : batch.items()) {
            ExpertResult result = ExpertResult.newBuilder()
                    .setRequestId(it.block().getRequestId())
                    .setExpert(expert.wireId())
                    .setAttempt(it.block().getAttempt())
                    .setPositions(it.block().getPositions())
                    .setOutput(Tensors.encodeSlice(wireDtype, out, it.firstRow() * d, it.rows() * d, it.rows(), d))
                    .setWorkerId(workerId)
                    .build();
            byte[] value = resultSerializer.serialize(resultsTopic, result);
            producer.send(
                    new ProducerRecord<>(resultsTopic, it.block().getRequestId(), value), (md, e) -> ticket.done(e));
        }
        for (MicroBatch.Refused bad : batch.refused()) {
            ConsumerRecord<String, byte[]> r = bad.record();
            DeadLetter letter = DeadLetters.of(
                    r.topic(),
                    r.partition(),
                    r.offset(),
                    r.key(),
                    r.value(),
                    bad.reason(),
                    bad.field(),
                    bad.requestId(),
                    System.currentTimeMillis());
            byte[] value = deadLetterSerializer.serialize(deadLetterTopic, letter);
            producer.send(new ProducerRecord<>(deadLetterTopic, bad.requestId(), value), (md, e) -> ticket.done(e));
            deadLettersOf(expert).increment();
        }
    }

    /**
     * The dead-letter counter of {@code expert}, registered on first use. The service calls it for each expert it
     * serves at start-up, so the counter is exported (at 0) before the first refusal and dashboards find it.
     */
    Counter deadLettersOf(ServedExpert expert) {
        return deadLetters.computeIfAbsent(expert.name(), x -> MoeMeter.EXPERT_DEAD_LETTERS.counter(meters, x));
    }

    /** Blocks until every record sent so far is acknowledged or failed (their callbacks have run). */
    void flush() {
        producer.flush();
    }

    private static Properties producerProps(ExpertConfig config) {
        Properties p = new Properties();
        p.put(ProducerConfig.LINGER_MS_CONFIG, 0);
        p.put(ProducerConfig.BATCH_SIZE_CONFIG, 256 * 1024);
        p.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, Limits.MAX_RECORD_BYTES);
        p.putAll(config.kafka());
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, config.bootstrapServers());
        // Idempotence: a retried send is written once, in order, per partition.
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.CLIENT_ID_CONFIG, "moe-expert-" + config.workerId() + "-producer");
        return p;
    }

    @Override
    public void close() {
        clientMetrics.close();
        producer.close(Duration.ofSeconds(10));
    }
}
