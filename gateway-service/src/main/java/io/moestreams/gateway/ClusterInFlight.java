package io.moestreams.gateway;

import io.micrometer.core.instrument.MeterRegistry;
import io.moestreams.schemas.ExpertIds;
import io.moestreams.schemas.Topics;
import io.moestreams.schemas.metrics.MoeMeter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLongArray;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ListConsumerGroupOffsetsSpec;
import org.apache.kafka.clients.admin.ListOffsetsResult;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * In-flight tokens per expert across every gateway instance, from Kafka itself (docs/architecture.md, "Flow control
 * across gateway replicas"): the records on an expert's topic that its consumer group has not committed yet (end
 * offsets minus committed offsets; experts commit once their results are acknowledged), converted to tokens with the
 * mean tokens per block this instance dispatched to that expert, plus the tokens this instance dispatched since that
 * snapshot was taken. Every instance reads the same offsets, so the credit is shared instead of granted N times.
 *
 * <p>The estimate is refreshed every {@code refresh} on its own thread. What it cannot see are the other instances'
 * dispatches since the last snapshot: the overshoot above the credit is at most (N − 1) · r · (refresh + query time)
 * for N instances each dispatching r tokens/s to the expert, plus what each instance processes before its pause takes
 * effect. A group that never committed counts from the log start (its consumers start there).
 */
public final class ClusterInFlight implements InFlightView, AutoCloseable {

    private static final Logger LOGGER = LoggerFactory.getLogger(ClusterInFlight.class);

    /** Partition counts are looked up again this often (an operator may add partitions to a hot expert's topic). */
    static final long DESCRIBE_EVERY_MS = 30_000;

    /** A group with backlog that has committed nothing for this long gets one warning (a group prefix mismatch). */
    static final long SILENT_GROUP_WARN_MS = 60_000;

    private final Admin admin;
    private final List<String> topics;
    private final List<String> groups;
    private final InFlightLedger ledger;
    private final Duration refresh;
    private final Duration timeout;
    private final AtomicLongArray backlogRecords;
    private final long[] dispatchedAtSnapshot;
    private final long[] silentSinceMs;
    private final boolean[] warned;
    private final Thread thread;
    private volatile Runnable onRefresh = () -> {};
    private volatile boolean running = true;
    private volatile long lastRefreshMs;
    private volatile long lastQueryMs;
    private Map<String, Integer> partitions = Map.of();
    private long describedAtMs;

    /**
     * @param numRouted routed experts E (wire ids at or above it are shared experts)
     * @param topics    the topic of each dispatch target, by wire id
     * @param groups    the consumer group of each dispatch target, by wire id
     */
    public ClusterInFlight(
            Admin admin,
            int numRouted,
            List<String> topics,
            List<String> groups,
            InFlightLedger ledger,
            Duration refresh,
            MeterRegistry meters) {
        if (topics.size() != ledger.numExperts() || groups.size() != ledger.numExperts()) {
            throw new IllegalArgumentException("expected one topic and one group per dispatch target ("
                    + ledger.numExperts() + "), found " + topics.size() + " and " + groups.size());
        }
        this.admin = admin;
        this.topics = List.copyOf(topics);
        this.groups = List.copyOf(groups);
        this.ledger = ledger;
        this.refresh = refresh;
        this.timeout = Duration.ofMillis(Math.max(5_000, refresh.toMillis() * 10));
        int n = ledger.numExperts();
        this.backlogRecords = new AtomicLongArray(n);
        this.dispatchedAtSnapshot = new long[n];
        this.silentSinceMs = new long[n];
        this.warned = new boolean[n];
        for (int e = 0; e < n; e++) {
            String name = ExpertIds.name(e, numRouted);
            final int target = e;
            MoeMeter.GATEWAY_EXPERT_BACKLOG.gauge(meters, backlogRecords, b -> b.get(target), name);
            MoeMeter.GATEWAY_CLUSTER_INFLIGHT.gauge(meters, this, c -> c.inFlight(target), name);
        }
        this.thread = new Thread(this::loop, "moe-gateway-cluster-inflight");
        this.thread.setDaemon(true);
    }

    /**
     * The estimate of a model's dispatch targets: topic {@code expert.<e>} / {@code shared-expert.<j>} and consumer
     * group {@code <moe.expert.group-prefix><e>} / {@code <prefix>s<j>} of each wire id.
     */
    public static ClusterInFlight of(
            Admin admin,
            GatewayConfig config,
            Topics topics,
            int numExperts,
            int numShared,
            InFlightLedger ledger,
            MeterRegistry meters) {
        List<String> names = new ArrayList<>();
        List<String> groups = new ArrayList<>();
        for (int w = 0; w < numExperts + numShared; w++) {
            names.add(topics.dispatch(w, numExperts));
            groups.add(config.expertGroupPrefix() + ExpertIds.name(w, numExperts));
        }
        return new ClusterInFlight(admin, numExperts, names, groups, ledger, config.flowRefresh(), meters);
    }

    /** Called after every refresh (the flow controller re-evaluates at once). */
    public void onRefresh(Runnable listener) {
        this.onRefresh = listener == null ? () -> {} : listener;
    }

    public void start() {
        thread.start();
    }

    @Override
    public int numExperts() {
        return ledger.numExperts();
    }

    /**
     * Backlog records at the last snapshot × mean tokens per block, plus this instance's tokens dispatched since the
     * snapshot was requested (counted twice if they landed before it: the estimate errs on the safe side).
     */
    @Override
    public long inFlight(int expert) {
        long since;
        synchronized (dispatchedAtSnapshot) {
            since = ledger.dispatchedTokens(expert) - dispatchedAtSnapshot[expert];
        }
        return Math.round(backlogRecords.get(expert) * tokensPerBlock(expert)) + Math.max(0, since);
    }

    /** Records not yet committed by the expert's group at the last snapshot. */
    public long backlogRecords(int expert) {
        return backlogRecords.get(expert);
    }

    /** Mean tokens per block this instance dispatched to the expert (else over every expert, else 1). */
    double tokensPerBlock(int expert) {
        long blocks = ledger.dispatchedBlocks(expert);
        if (blocks > 0) {
            return (double) ledger.dispatchedTokens(expert) / blocks;
        }
        long allTokens = 0;
        long allBlocks = 0;
        for (int e = 0; e < ledger.numExperts(); e++) {
            allTokens += ledger.dispatchedTokens(e);
            allBlocks += ledger.dispatchedBlocks(e);
        }
        return allBlocks > 0 ? (double) allTokens / allBlocks : 1.0;
    }

    /** Milliseconds the last snapshot took to query (the "query time" of the margin). */
    public long lastQueryMs() {
        return lastQueryMs;
    }

    /** Wall-clock time of the last successful snapshot, 0 before the first. */
    public long lastRefreshMs() {
        return lastRefreshMs;
    }

    /** One snapshot of every expert's backlog; public for tests. */
    public void refresh() throws InterruptedException, ExecutionException, TimeoutException {
        long t0 = System.nanoTime();
        long now = System.currentTimeMillis();
        if (partitions.isEmpty() || now - describedAtMs > DESCRIBE_EVERY_MS) {
            Map<String, Integer> counts = new HashMap<>();
            for (TopicDescription d : admin.describeTopics(topics)
                    .allTopicNames()
                    .get(timeout.toMillis(), TimeUnit.MILLISECONDS)
                    .values()) {
                counts.put(d.name(), d.partitions().size());
            }
            partitions = counts;
            describedAtMs = now;
        }
        int n = ledger.numExperts();
        long[] base = new long[n];
        for (int e = 0; e < n; e++) {
            base[e] = ledger.dispatchedTokens(e); // before the query: later dispatches are added on top
        }
        Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
        Map<String, ListConsumerGroupOffsetsSpec> specs = new HashMap<>();
        for (int e = 0; e < n; e++) {
            List<TopicPartition> tps = new ArrayList<>();
            for (int p = 0; p < partitions.getOrDefault(topics.get(e), 0); p++) {
                TopicPartition tp = new TopicPartition(topics.get(e), p);
                tps.add(tp);
                latest.put(tp, OffsetSpec.latest());
            }
            specs.put(groups.get(e), new ListConsumerGroupOffsetsSpec().topicPartitions(tps));
        }
        Map<TopicPartition, ListOffsetsResult.ListOffsetsResultInfo> ends =
                admin.listOffsets(latest).all().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        Map<String, Map<TopicPartition, OffsetAndMetadata>> committed =
                admin.listConsumerGroupOffsets(specs).all().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        Map<TopicPartition, OffsetSpec> uncommitted = new HashMap<>();
        for (int e = 0; e < n; e++) {
            Map<TopicPartition, OffsetAndMetadata> c = committed.getOrDefault(groups.get(e), Map.of());
            for (TopicPartition tp : ends.keySet()) {
                if (tp.topic().equals(topics.get(e))
                        && c.get(tp) == null
                        && ends.get(tp).offset() > 0) {
                    uncommitted.put(tp, OffsetSpec.earliest());
                }
            }
        }
        Map<TopicPartition, ListOffsetsResult.ListOffsetsResultInfo> starts = uncommitted.isEmpty()
                ? Map.of()
                : admin.listOffsets(uncommitted).all().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        long[] backlog = new long[n];
        boolean[] anyCommit = new boolean[n];
        for (Map.Entry<TopicPartition, ListOffsetsResult.ListOffsetsResultInfo> end : ends.entrySet()) {
            int e = topics.indexOf(end.getKey().topic());
            OffsetAndMetadata c =
                    committed.getOrDefault(groups.get(e), Map.of()).get(end.getKey());
            long from;
            if (c != null) {
                from = c.offset();
                anyCommit[e] = true;
            } else {
                ListOffsetsResult.ListOffsetsResultInfo s = starts.get(end.getKey());
                from = s == null ? 0 : s.offset();
            }
            backlog[e] += Math.max(0, end.getValue().offset() - from);
        }
        synchronized (dispatchedAtSnapshot) {
            for (int e = 0; e < n; e++) {
                backlogRecords.set(e, backlog[e]);
                dispatchedAtSnapshot[e] = base[e];
            }
        }
        warnAboutSilentGroups(backlog, anyCommit, now);
        lastQueryMs = (System.nanoTime() - t0) / 1_000_000;
        lastRefreshMs = now;
    }

    private void warnAboutSilentGroups(long[] backlog, boolean[] anyCommit, long now) {
        for (int e = 0; e < backlog.length; e++) {
            if (anyCommit[e] || backlog[e] == 0) {
                silentSinceMs[e] = 0;
                continue;
            }
            if (silentSinceMs[e] == 0) {
                silentSinceMs[e] = now;
            } else if (!warned[e] && now - silentSinceMs[e] > SILENT_GROUP_WARN_MS) {
                warned[e] = true;
                LOGGER.warn(
                        "Consumer group {} has committed nothing on {} for {} s while {} records wait: if its experts"
                                + " run, moe.expert.group-prefix must be the same for the gateway and the experts",
                        groups.get(e),
                        topics.get(e),
                        (now - silentSinceMs[e]) / 1000,
                        backlog[e]);
            }
        }
    }

    private void loop() {
        long failures = 0;
        while (running) {
            try {
                refresh();
                if (failures > 0) {
                    LOGGER.info("Expert backlog snapshots work again after {} failure(s)", failures);
                }
                failures = 0;
                onRefresh.run();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } catch (ExecutionException | TimeoutException | RuntimeException e) {
                // keep the last snapshot: flow control errs on the side it was on
                if (failures++ == 0) {
                    LOGGER.warn("Cannot read the experts' backlog from Kafka ({}); retrying", e.toString());
                }
            }
            synchronized (this) {
                try {
                    wait(refresh.toMillis());
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }
    }

    @Override
    public void close() {
        running = false;
        thread.interrupt();
        try {
            thread.join(2000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public String toString() {
        long[] v = new long[ledger.numExperts()];
        for (int e = 0; e < v.length; e++) {
            v[e] = inFlight(e);
        }
        return "ClusterInFlight" + Arrays.toString(v);
    }
}
