package io.moestreams.gateway;

import io.moestreams.avro.DispatchManifest;
import io.moestreams.schemas.TypedTopics;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.RetriableException;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.errors.StreamsException;

/**
 * Manifests sent outside the intake's transaction ({@code moe.gateway.manifests=direct}): an idempotent producer
 * with {@code acks=all}, and each send waits for its acknowledgement, so a manifest is durable before the intake
 * commits the request's offset. The combiner (read_committed) sees it at once instead of after the intake's commit:
 * the intake's transaction leaves the latency path. Should the intake crash before its commit, the request is
 * processed again and its manifest sent again; the combiner ignores the second one (docs/architecture.md, "Delivery
 * guarantees per hop").
 */
final class DirectManifests implements ManifestOut, AutoCloseable {

    /** The longest a send waits for its acknowledgement before the task fails (and the request is retried). */
    static final Duration ACK_TIMEOUT = Duration.ofSeconds(30);

    private final String topic;
    private final Producer<String, DispatchManifest> producer;

    DirectManifests(String topic, Producer<String, DispatchManifest> producer) {
        this.topic = topic;
        this.producer = producer;
    }

    static DirectManifests of(GatewayConfig config, TypedTopics typed) {
        Map<String, Object> p = new HashMap<>(config.kafka());
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, config.bootstrapServers());
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        p.put(ProducerConfig.LINGER_MS_CONFIG, 0);
        p.put(ProducerConfig.CLIENT_ID_CONFIG, "moe-gateway-manifests-" + config.applicationId());
        p.remove(ProducerConfig.TRANSACTIONAL_ID_CONFIG);
        return new DirectManifests(
                typed.manifests().name(),
                new KafkaProducer<>(
                        p,
                        new StringSerializer(),
                        typed.manifests().valueSerde().serializer()));
    }

    @Override
    public void send(String requestId, DispatchManifest manifest, long timestampMs) {
        try {
            producer.send(new ProducerRecord<>(topic, null, timestampMs, requestId, manifest))
                    .get(ACK_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new StreamsException("interrupted while sending a manifest", e);
        } catch (ExecutionException e) {
            // the cause decides whether the stream thread is replaced (retriable, registry outage) or the app stops
            throw new StreamsException("could not send a manifest to " + topic, e.getCause());
        } catch (TimeoutException e) {
            throw new StreamsException(
                    "no acknowledgement of a manifest sent to " + topic + " within " + ACK_TIMEOUT.toSeconds() + " s",
                    new KafkaTimeout(e.getMessage()));
        }
    }

    /** Kafka's retriable timeout, so the stream thread is replaced instead of the application stopped. */
    private static final class KafkaTimeout extends RetriableException {
        private static final long serialVersionUID = 1L;

        KafkaTimeout(String message) {
            super(message);
        }
    }

    @Override
    public void close() {
        producer.close(Duration.ofSeconds(5));
    }
}
