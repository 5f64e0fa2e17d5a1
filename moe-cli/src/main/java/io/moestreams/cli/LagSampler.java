package io.moestreams.cli;

import io.moestreams.schemas.Topics;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;

/**
 * Samples every routed expert's consumer lag (records on its topic its group has not committed, {@link ExpertLag})
 * at a fixed period on a thread of its own: the time series of {@code moe bench --skew}.
 */
final class LagSampler implements AutoCloseable {

    private final Admin admin;
    private final Topics topics;
    private final String groupPrefix;
    private final int experts;
    private final long periodMs;
    private final List<double[]> samples = new ArrayList<>();
    private final AtomicBoolean running = new AtomicBoolean(true);
    private final AtomicInteger failedSamples = new AtomicInteger();
    private final Thread thread;
    private final long t0 = System.nanoTime();

    /**
     * @param groupPrefix the experts' consumer group prefix ({@code moe.expert.group-prefix})
     * @param experts     routed experts to sample
     * @param periodMs    time between the start of two samples
     */
    LagSampler(String bootstrap, Topics topics, String groupPrefix, int experts, long periodMs) {
        this.admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap));
        this.topics = topics;
        this.groupPrefix = groupPrefix;
        this.experts = experts;
        this.periodMs = periodMs;
        this.thread = new Thread(this::loop, "moe-skew-lag-sampler");
        this.thread.setDaemon(true);
        this.thread.start();
    }

    private void loop() {
        long next = System.nanoTime();
        while (running.get()) {
            try {
                Map<Integer, ExpertLag.Lag> lag = ExpertLag.snapshot(admin, topics, groupPrefix, experts, 0);
                double[] v = new double[experts + 1];
                v[0] = (System.nanoTime() - t0) / 1e9;
                for (int e = 0; e < experts; e++) {
                    v[e + 1] = lag.get(e).records();
                }
                synchronized (samples) {
                    samples.add(v);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } catch (Exception e) {
                failedSamples.incrementAndGet(); // a slow answer under load: the series has a gap, the next follows
            }
            next += TimeUnit.MILLISECONDS.toNanos(periodMs);
            long wait = next - System.nanoTime();
            if (wait > 0) {
                try {
                    TimeUnit.NANOSECONDS.sleep(wait); // the sampling period, not a synchronisation
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            } else {
                next = System.nanoTime();
            }
        }
    }

    /** Samples so far: {seconds since start, lag of expert 0, lag of expert 1, ...}. */
    List<double[]> samples() {
        synchronized (samples) {
            return List.copyOf(samples);
        }
    }

    /** Samples lost to a failed or timed-out Admin call. */
    int failedSamples() {
        return failedSamples.get();
    }

    @Override
    public void close() {
        stop();
    }

    /** Stops sampling; idempotent. */
    void stop() {
        if (running.getAndSet(false)) {
            thread.interrupt();
            try {
                thread.join(15_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            admin.close();
        }
    }
}
