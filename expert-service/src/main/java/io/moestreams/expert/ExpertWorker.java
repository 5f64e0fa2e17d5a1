package io.moestreams.expert;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.kafka.KafkaClientMetrics;
import io.moestreams.avro.DispatchBlock;
import io.moestreams.core.ffn.ExpertFfn;
import io.moestreams.schemas.SchemaRegistryException;
import io.moestreams.schemas.TypedTopics;
import io.moestreams.schemas.metrics.MoeMeter;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.consumer.CloseOptions;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Serves one expert: consumes its topic in the expert's consumer group, drains what has arrived into a
 * {@link MicroBatch} (bounded by tokens, optionally lingering), runs one batched FFN over it, hands the results to
 * the {@link ResultSender} and commits the consumed offsets once every result of the batch is acknowledged.
 *
 * <p>The hop is at-least-once by design (docs/architecture.md, "Delivery guarantees per hop"): no transaction, so a
 * crashed worker never holds back the results of other experts; a crash between acknowledgement and commit
 * recomputes the batch and the combiner ignores the duplicates. A graceful stop (SIGTERM) or a revocation finishes
 * the open batch, waits for its acknowledgements and commits before the partitions move, so it duplicates nothing.
 */
final class ExpertWorker implements Runnable {

    private static final Logger LOGGER = LoggerFactory.getLogger(ExpertWorker.class);

    /** How long an idle worker blocks in poll (it wakes up at once when records arrive). */
    static final Duration IDLE_POLL = Duration.ofMillis(500);

    /** Poll timeout while results await acknowledgement, so their offsets are committed promptly. */
    static final Duration COMMIT_POLL = Duration.ofMillis(5);

    /** Blocks whose deadline passed longer ago than this are skipped: the combiner has answered them. */
    static final long EXPIRED_GRACE_MS = 5_000;

    /** A schema registry that cannot be asked is retried this often, never dead-lettered. */
    static final Duration REGISTRY_RETRY = Duration.ofSeconds(1);

    private final ExpertConfig config;
    private final ServedExpert served;
    private final int expert;
    private final ExpertFfn ffn;
    private final int hiddenSize;
    private final String topic;
    private final Deserializer<DispatchBlock> blockDeserializer;
    private final ResultSender sender;
    private final MicroBatch batch;
    private final PendingCommits commits = new PendingCommits();
    private final CountDownLatch stopped = new CountDownLatch(1);
    private final CountDownLatch joined = new CountDownLatch(1);
    private final AtomicInteger ownedPartitions = new AtomicInteger();
    private final Counter tokens;
    private final Counter blocks;
    private final Counter expiredBlocks;
    private final Counter rewinds;
    private final DistributionSummary batchTokens;
    private final Timer compute;
    private final Timer inputLag;
    private final MeterRegistry meters;

    private volatile boolean running = true;
    private volatile Throwable failure;
    private final CompletableFuture<String> failed;
    private volatile KafkaConsumer<String, byte[]> consumer;
    private float[] out = new float[0];
    private boolean serving;

    ExpertWorker(
            ExpertConfig config,
            ServedExpert served,
            int hiddenSize,
            TypedTopics typed,
            ResultSender sender,
            CompletableFuture<String> failed,
            MeterRegistry meters) {
        this.config = config;
        this.failed = failed;
        this.served = served;
        this.expert = served.wireId();
        this.ffn = served.ffn();
        this.hiddenSize = hiddenSize;
        this.topic = served.topic();
        this.blockDeserializer = typed.expert(0).valueSerde().deserializer();
        this.sender = sender;
        this.batch = new MicroBatch(hiddenSize);
        String tag = served.name();
        this.tokens = MoeMeter.EXPERT_TOKENS.counter(meters, tag);
        this.blocks = MoeMeter.EXPERT_BLOCKS.counter(meters, tag);
        this.expiredBlocks = MoeMeter.EXPERT_EXPIRED_BLOCKS.counter(meters, tag);
        this.rewinds = MoeMeter.EXPERT_REWINDS.counter(meters, tag);
        this.batchTokens = MoeMeter.EXPERT_BATCH_TOKENS.summary(meters, tag);
        this.compute = MoeMeter.EXPERT_BATCH_COMPUTE.timer(meters, tag);
        this.inputLag = MoeMeter.EXPERT_INPUT_LAG.timer(meters, tag);
        this.meters = meters;
    }

    /** The expert's wire id (routed e, or E + j for shared expert j). */
    int expert() {
        return expert;
    }

    ServedExpert served() {
        return served;
    }

    /** Partitions of the expert's topic this worker owns right now. */
    int ownedPartitions() {
        return ownedPartitions.get();
    }

    /** True once the worker has joined its group (it may own no partition when it has more peers than those). */
    boolean joined() {
        return joined.getCount() == 0;
    }

    Throwable failure() {
        return failure;
    }

    @Override
    public void run() {
        try (KafkaConsumer<String, byte[]> c = new KafkaConsumer<>(
                        ExpertConsumers.props(config, served), new StringDeserializer(), new ByteArrayDeserializer());
                KafkaClientMetrics clientMetrics = new KafkaClientMetrics(c)) {
            clientMetrics.bindTo(meters); // Kafka's consumer metrics (records-lag, fetch rate) next to the moe meters
            consumer = c;
            c.subscribe(List.of(topic), new Rebalance(c));
            LOGGER.info("Expert {} worker {} started on {}", served.name(), config.workerId(), topic);
            try {
                loop(c);
            } catch (WakeupException e) {
                if (running) {
                    throw e;
                }
            }
            drain(c);
            c.close(CloseOptions.groupMembershipOperation(CloseOptions.GroupMembershipOperation.LEAVE_GROUP)
                    .withTimeout(Duration.ofSeconds(10)));
        } catch (RuntimeException | Error e) {
            failure = e;
            failed.complete("expert " + served.name() + " worker failed: " + e);
            LOGGER.error("Expert {} worker {} failed", served.name(), config.workerId(), e);
        } finally {
            consumer = null;
            stopped.countDown();
            LOGGER.info("Expert {} worker {} stopped", served.name(), config.workerId());
        }
    }

    private void loop(KafkaConsumer<String, byte[]> c) {
        long lingerNanos = config.maxBatchWait().toNanos();
        while (running) {
            commitAcknowledged(c);
            Duration timeout = batch.isEmpty()
                    ? (commits.open() > 0 ? COMMIT_POLL : IDLE_POLL)
                    : Duration.ofNanos(Math.max(0, lingerNanos - (System.nanoTime() - batch.openedAtNanos())));
            ConsumerRecords<String, byte[]> records = c.poll(timeout);
            long now = System.currentTimeMillis();
            for (ConsumerRecord<String, byte[]> r : records) {
                inputLag.record(Math.max(0, now - r.timestamp()), TimeUnit.MILLISECONDS);
            }
            try {
                for (ConsumerRecord<String, byte[]> r : records) {
                    if (!running) {
                        break; // stop promptly: the rest of this poll is consumed again by the next owner
                    }
                    add(r);
                    if (batch.rowCount() >= config.maxBatchTokens()) {
                        flush(); // the token bound closes the batch mid-poll; the rest starts the next one
                    }
                }
                if (!batch.isEmpty()
                        && (records.isEmpty() || System.nanoTime() - batch.openedAtNanos() >= lingerNanos)) {
                    flush();
                }
            } catch (RegistryUnavailable e) {
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

    /** Decodes, checks and adds one record to the open batch (or refuses or skips it). */
    private void add(ConsumerRecord<String, byte[]> r) {
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
            batch.refuse(r, "value: undecodable dispatch block: " + e.getMessage(), "value", r.key());
            return;
        }
        BlockCheck.Problem problem = BlockCheck.check(block, expert, hiddenSize);
        if (problem != null) {
            batch.refuse(r, problem.reason(), problem.field(), block.getRequestId());
            return;
        }
        if (block.getDeadlineMs() + EXPIRED_GRACE_MS < System.currentTimeMillis()) {
            batch.skip(r);
            expiredBlocks.increment();
            return;
        }
        batch.add(r, block);
    }

    /** Computes the open batch and hands its results to the sender; the commit follows the acknowledgements. */
    private void flush() {
        int n = batch.rowCount();
        if (n > 0) {
            if (out.length < n * hiddenSize) {
                out = new float[Math.max(n * hiddenSize, out.length * 2)];
            }
            long t0 = System.nanoTime();
            ffn.forward(batch.rows(), n, batch.scales(), out);
            compute.record(System.nanoTime() - t0, TimeUnit.NANOSECONDS);
            batchTokens.record(n);
        }
        int sends = batch.items().size() + batch.refused().size();
        PendingCommits.Ticket ticket = commits.open(batch.nextOffsets(), sends);
        try {
            sender.send(served, batch, out, ticket);
        } catch (SerializationException e) {
            if (SchemaRegistryException.isTransient(e)) {
                throw new RegistryUnavailable(e);
            }
            throw e;
        }
        tokens.increment(n);
        blocks.increment(batch.items().size());
        if (!serving && n > 0) {
            serving = true;
            LOGGER.info(
                    "Expert {} worker {} serving: first batch of {} token(s) sent",
                    served.name(),
                    config.workerId(),
                    n);
        }
        batch.clear();
    }

    /** Commits the offsets whose results are all acknowledged; rewinds if a send failed for good. */
    private void commitAcknowledged(KafkaConsumer<String, byte[]> c) {
        Map<TopicPartition, Long> ready;
        try {
            ready = commits.committable(config.commitDelay().toNanos());
        } catch (IllegalStateException e) {
            LOGGER.warn(
                    "Expert {} worker {}: {}; consuming again from the committed offsets",
                    served.name(),
                    config.workerId(),
                    e.getCause() == null ? e.toString() : e.getCause().toString());
            rewind(c);
            return;
        }
        if (!ready.isEmpty()) {
            c.commitAsync(ExpertConsumers.offsets(ready, c.assignment()), (offsets, e) -> {
                if (e != null) {
                    LOGGER.debug(
                            "Expert {}: an offset commit failed ({}); the next one covers it", expert, e.toString());
                }
            });
        }
    }

    /** Graceful stop or revocation: finish the open batch, wait for every acknowledgement, commit synchronously. */
    private void drain(KafkaConsumer<String, byte[]> c) {
        try {
            if (!batch.isEmpty()) {
                flush();
            }
            sender.flush();
            Map<TopicPartition, Long> ready = commits.committable();
            if (!ready.isEmpty()) {
                try {
                    c.commitSync(ExpertConsumers.offsets(ready, null), Duration.ofSeconds(10));
                } catch (WakeupException e) {
                    // stop() woke the consumer while it was not polling: the commit is still wanted
                    c.commitSync(ExpertConsumers.offsets(ready, null), Duration.ofSeconds(10));
                }
            }
        } catch (RegistryUnavailable | KafkaException | IllegalStateException e) {
            // nothing is lost: the uncommitted blocks are consumed again by the next owner
            LOGGER.warn(
                    "Expert {} worker {}: could not drain cleanly: {}", served.name(), config.workerId(), e.toString());
            batch.clear();
            commits.clear();
        }
    }

    /** Forgets the open batch and unacknowledged work and goes back to the committed offsets. */
    private void rewind(KafkaConsumer<String, byte[]> c) {
        rewinds.increment();
        batch.clear();
        commits.clear();
        ExpertConsumers.seekToCommitted(c);
    }

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

    /** Hand-over on rebalance: what is revoked is finished and committed first; what is lost is just forgotten. */
    private final class Rebalance implements ConsumerRebalanceListener {
        private final KafkaConsumer<String, byte[]> c;

        Rebalance(KafkaConsumer<String, byte[]> c) {
            this.c = c;
        }

        @Override
        public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
            if (!partitions.isEmpty()) {
                drain(c);
            }
            ownedPartitions.set(Math.max(0, c.assignment().size() - partitions.size()));
        }

        @Override
        public void onPartitionsLost(Collection<TopicPartition> partitions) {
            // another member may own them already: committing now could skip its work
            batch.clear();
            commits.clear();
            ownedPartitions.set(0);
        }

        @Override
        public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
            ownedPartitions.set(c.assignment().size());
            joined.countDown();
            if (!partitions.isEmpty()) {
                LOGGER.info(
                        "Expert {} worker {} now owns {} partition(s) of {}",
                        served.name(),
                        config.workerId(),
                        c.assignment().size(),
                        topic);
            }
        }
    }

    /** The registry could not be asked (down, 5xx): retry later instead of dead-lettering good records. */
    static final class RegistryUnavailable extends RuntimeException {
        private static final long serialVersionUID = 1L;

        RegistryUnavailable(Throwable cause) {
            super(cause.getMessage(), cause);
        }
    }

    /** Asks the loop to stop; the open batch is finished and committed before the worker leaves its group. */
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
