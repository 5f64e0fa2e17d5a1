package io.moestreams.gateway;

import io.micrometer.core.instrument.MeterRegistry;
import io.moestreams.avro.ExpertLoad;
import io.moestreams.core.routing.Assignment;
import io.moestreams.core.routing.RouterOutput;
import io.moestreams.schemas.ExpertIds;
import io.moestreams.schemas.TypedTopics;
import io.moestreams.schemas.metrics.MoeMeter;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Queue;
import java.util.UUID;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.function.LongSupplier;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The expert load record (docs/architecture.md, "Expert load record"): counts every routed sequence into a
 * wall-clock window aligned to multiples of its length (so every gateway instance has the same boundaries), publishes
 * the open window's running counts every {@code publish} and the final counts when it closes, keyed
 * {@code <layer>/<instance>/<windowStartMs>} on the compacted, time-retained expert-load topic, and exports the last
 * closed window as gauges ({@code moe.load.*}, tags layer and expert: bounded by the model).
 *
 * <p>The record is a statistic written beside the exactly-once intake, not inside its transaction: a request
 * processed again after a crash is counted again.
 */
public final class LoadRecorder implements RoutingObserver, AutoCloseable {

    private static final Logger LOGGER = LoggerFactory.getLogger(LoadRecorder.class);

    private final String layer;
    private final String instance;
    private final int numExperts;
    private final int numShared;
    private final long windowMs;
    private final long publishMs;
    private final Producer<String, ExpertLoad> producer;
    private final String topic;
    private final LongSupplier throttledNanos;
    private final LongSupplier clock;
    private final AtomicLongArray lastTokens;
    private final double[] lastBalance = new double[3];
    private final Thread thread;
    private final Queue<Pending> pending = new ConcurrentLinkedQueue<>();
    private LoadWindow current;
    private long throttledAtStart;
    private volatile boolean running = true;

    /**
     * @param producer       where records go (closed by {@link #close})
     * @param throttledNanos cumulative time the intake was paused (for {@code throttledMs})
     * @param clock          wall-clock milliseconds
     */
    public LoadRecorder(
            String layer,
            String instance,
            int numExperts,
            int numShared,
            Duration window,
            Duration publish,
            Producer<String, ExpertLoad> producer,
            String topic,
            LongSupplier throttledNanos,
            LongSupplier clock,
            MeterRegistry meters) {
        this.layer = layer;
        this.instance = instance;
        this.numExperts = numExperts;
        this.numShared = numShared;
        this.windowMs = window.toMillis();
        this.publishMs = publish.toMillis();
        this.producer = producer;
        this.topic = topic;
        this.throttledNanos = throttledNanos;
        this.clock = clock;
        this.lastTokens = new AtomicLongArray(numExperts + numShared);
        for (int w = 0; w < numExperts + numShared; w++) {
            final int wire = w;
            MoeMeter.LOAD_TOKENS.gauge(meters, lastTokens, t -> t.get(wire), layer, ExpertIds.name(w, numExperts));
        }
        MoeMeter.LOAD_CV2.gauge(meters, lastBalance, b -> b[0], layer);
        MoeMeter.LOAD_AUX_LOSS.gauge(meters, lastBalance, b -> b[1], layer);
        MoeMeter.LOAD_DROP_RATE.gauge(meters, lastBalance, b -> b[2], layer);
        this.current = open(clock.getAsLong());
        this.throttledAtStart = throttledNanos.getAsLong();
        this.thread = new Thread(this::loop, "moe-gateway-load-record");
        this.thread.setDaemon(true);
    }

    /**
     * The recorder of a gateway: layer {@code moe.model.layer} ({@code 0} for a moe.json model), instance
     * {@code moe.gateway.instance-id} (else a random name), an idempotent producer of its own.
     */
    public static LoadRecorder of(
            GatewayConfig config,
            TypedTopics typed,
            int numExperts,
            int numShared,
            MeterRegistry meters,
            LongSupplier throttledNanos) {
        Map<String, Object> p = new HashMap<>(config.kafka());
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, config.bootstrapServers());
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.LINGER_MS_CONFIG, 20);
        // never hold up the recorder's thread for long when the cluster is away: the record is a statistic
        p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, 5_000);
        p.put(ProducerConfig.CLIENT_ID_CONFIG, "moe-gateway-load-" + config.applicationId());
        p.remove(ProducerConfig.TRANSACTIONAL_ID_CONFIG);
        Producer<String, ExpertLoad> producer = new KafkaProducer<>(
                p, new StringSerializer(), typed.expertLoad().valueSerde().serializer());
        String instance = config.instanceId() != null
                ? config.instanceId()
                : "gw-" + UUID.randomUUID().toString().substring(0, 8);
        return new LoadRecorder(
                config.modelLayer() == null ? "0" : config.modelLayer(),
                instance,
                numExperts,
                numShared,
                config.loadWindow(),
                config.loadPublish(),
                producer,
                typed.names().expertLoad(),
                throttledNanos,
                System::currentTimeMillis,
                meters);
    }

    /** The record key of a window. */
    public static String key(String layer, String instance, long windowStartMs) {
        return layer + "/" + instance + "/" + windowStartMs;
    }

    /** A window to publish (by the recorder's thread, never by the routing thread). */
    private record Pending(LoadWindow window, boolean closed, long throttledMs) {}

    public void start() {
        thread.start();
    }

    @Override
    public void routed(RouterOutput out, Assignment a) {
        LoadWindow w;
        synchronized (this) {
            rollIfDue(clock.getAsLong());
            w = current;
        }
        w.add(out, a);
    }

    /** Closes the current window if its end has passed (publishes it) and opens the one {@code now} falls in. */
    synchronized void rollIfDue(long now) {
        if (now < current.endMs()) {
            return;
        }
        LoadWindow closed = current;
        long throttledNow = throttledNanos.getAsLong();
        long throttledMs = TimeUnit.NANOSECONDS.toMillis(throttledNow - throttledAtStart);
        throttledAtStart = throttledNow;
        current = open(now);
        pending.add(new Pending(closed, true, throttledMs));
        notifyAll();
        for (int w = 0; w < numExperts + numShared; w++) {
            lastTokens.set(w, closed.expertTokens(w));
        }
        lastBalance[0] = closed.loadCv2();
        lastBalance[1] = closed.auxLoss();
        lastBalance[2] = closed.dropRate();
    }

    private LoadWindow open(long now) {
        long start = now - Math.floorMod(now, windowMs);
        return new LoadWindow(numExperts, numShared, start, start + windowMs);
    }

    /** Publishes the windows that closed and the open window's running counts (rolling first if it ended). */
    void publishDue(long now) {
        synchronized (this) {
            rollIfDue(now);
            long throttledMs = TimeUnit.NANOSECONDS.toMillis(throttledNanos.getAsLong() - throttledAtStart);
            pending.add(new Pending(current, false, throttledMs));
        }
        for (Pending p = pending.poll(); p != null; p = pending.poll()) {
            publish(p.window(), p.closed(), p.throttledMs());
        }
    }

    private void publish(LoadWindow w, boolean closed, long throttledMs) {
        if (!closed && w.tokens() == 0) {
            return; // nothing routed yet: no record for an idle open window
        }
        ExpertLoad record = w.toRecord(layer, instance, closed, throttledMs);
        producer.send(new ProducerRecord<>(topic, key(layer, instance, w.startMs()), record), (md, e) -> {
            if (e != null) {
                LOGGER.debug("An expert load record was not written: {}", e.toString());
            }
        });
    }

    private void loop() {
        while (running) {
            try {
                long now = clock.getAsLong();
                publishDue(now);
                synchronized (this) {
                    long next = Math.min(now + publishMs, current.endMs());
                    wait(Math.max(1, next - clock.getAsLong()));
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } catch (RuntimeException e) {
                LOGGER.warn("Expert load record step failed: {}", e.toString());
            }
        }
    }

    /** Publishes the open window as final (this instance adds nothing more to it) and closes the producer. */
    @Override
    public void close() {
        running = false;
        thread.interrupt();
        try {
            thread.join(2000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        synchronized (this) {
            long throttledMs = TimeUnit.NANOSECONDS.toMillis(throttledNanos.getAsLong() - throttledAtStart);
            pending.add(new Pending(current, true, throttledMs));
        }
        for (Pending p = pending.poll(); p != null; p = pending.poll()) {
            publish(p.window(), p.closed(), p.throttledMs());
        }
        producer.close(Duration.ofSeconds(5));
    }
}
