package io.moestreams.gateway;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.moestreams.avro.DispatchManifest;
import io.moestreams.avro.ExpertResult;
import io.moestreams.avro.InferenceResponse;
import io.moestreams.avro.ResponseStatus;
import io.moestreams.schemas.DeadLetters;
import io.moestreams.schemas.SchemaRegistryException;
import io.moestreams.schemas.Tensors;
import io.moestreams.schemas.metrics.MoeMeter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.errors.StreamsException;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.processor.api.RecordMetadata;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reassembles each request: waits for its manifest and every expected expert result (in any order), sums them
 * ({@link Combine}) and emits the response. Results are at-least-once (docs/architecture.md, "Delivery guarantees
 * per hop"): a duplicate (same request and expert) is ignored. A wall-clock punctuator answers every request whose
 * deadline passed with TIMEOUT (or PARTIAL) naming the missing experts — once the combiner has worked through its
 * backlog ({@link CatchUp}).
 *
 * <p>State: manifests, the raw bytes of results and per-request arrival bitsets wait in changelogged stores; a
 * timer index ordered by time holds deadlines and purges; a done-marker per answered request keeps late
 * duplicates out until it is purged.
 */
final class CombinerProcessor implements Processor<String, byte[], String, SpecificRecord> {

    private static final Logger LOGGER = LoggerFactory.getLogger(CombinerProcessor.class);

    /** The longest a passed deadline waits for the combiner to work through a backlog before it fires anyway. */
    static final long DEADLINE_HOLD_MS = 30_000;

    private final GatewayConfig config;
    private final InFlightLedger ledger;
    private final long retentionMs;
    private final String manifestsTopic;
    private final String resultsTopic;
    private final Deserializer<DispatchManifest> manifestDeserializer;
    private final Deserializer<ExpertResult> resultDeserializer;
    private final Counter duplicates;
    private final Counter malformed;
    private final Counter deadLetters;
    private final EnumMap<ResponseStatus, Counter> responses = new EnumMap<>(ResponseStatus.class);
    private final Timer latency;
    private final Timer manifestLag;
    private final Timer resultLag;
    private final EagerCommits commits;

    private ProcessorContext<String, SpecificRecord> context;
    private CatchUp catchUp;
    /**
     * How long the latest expert result waited before it was processed: the combiner's backlog, which decides eager
     * commits. Not the manifests' wait: a manifest carries its request's timestamp, and in a closed loop it is the
     * manifest (read_committed, after the intake's commit) that completes a request whose results came first.
     */
    private long resultBacklogMs;

    private KeyValueStore<String, DispatchManifest> manifests;
    private KeyValueStore<String, byte[]> results;
    private KeyValueStore<Bytes, String> timers;
    private KeyValueStore<String, Long> done;
    private KeyValueStore<String, byte[]> arrivals;

    CombinerProcessor(
            GatewayConfig config,
            String manifestsTopic,
            String resultsTopic,
            Deserializer<DispatchManifest> manifestDeserializer,
            Deserializer<ExpertResult> resultDeserializer,
            InFlightLedger ledger,
            MeterRegistry meters) {
        this.config = config;
        this.ledger = ledger;
        this.retentionMs = Math.max(60_000, config.defaultTimeout().toMillis());
        this.manifestsTopic = manifestsTopic;
        this.resultsTopic = resultsTopic;
        this.manifestDeserializer = manifestDeserializer;
        this.resultDeserializer = resultDeserializer;
        this.duplicates = MoeMeter.COMBINER_DUPLICATES.counter(meters);
        this.malformed = MoeMeter.COMBINER_MALFORMED_RESULTS.counter(meters);
        this.deadLetters = MoeMeter.COMBINER_DEAD_LETTERS.counter(meters);
        for (ResponseStatus s : ResponseStatus.values()) {
            responses.put(s, MoeMeter.COMBINER_RESPONSES.counter(meters, s.name()));
        }
        this.latency = MoeMeter.COMBINER_LATENCY.timer(meters);
        this.manifestLag = MoeMeter.COMBINER_INPUT_LAG.timer(meters, "manifest");
        this.resultLag = MoeMeter.COMBINER_INPUT_LAG.timer(meters, "result");
        this.commits = new EagerCommits(config, meters, "combiner");
    }

    @Override
    public void init(ProcessorContext<String, SpecificRecord> context) {
        this.context = context;
        this.manifests = context.getStateStore(CombinerTopology.MANIFESTS_STORE);
        this.results = context.getStateStore(CombinerTopology.RESULTS_STORE);
        this.timers = context.getStateStore(CombinerTopology.TIMERS_STORE);
        this.done = context.getStateStore(CombinerTopology.DONE_STORE);
        this.arrivals = context.getStateStore(CombinerTopology.ARRIVALS_STORE);
        this.catchUp = new CatchUp();
        context.schedule(Duration.ofMillis(100), PunctuationType.WALL_CLOCK_TIME, this::fireTimers);
    }

    @Override
    public void process(Record<String, byte[]> record) {
        RecordMetadata md = context.recordMetadata().orElseThrow();
        boolean isManifest = md.topic().equals(manifestsTopic);
        SpecificRecord value;
        try {
            value = isManifest
                    ? manifestDeserializer.deserialize(md.topic(), record.headers(), record.value())
                    : resultDeserializer.deserialize(md.topic(), record.headers(), record.value());
        } catch (SerializationException e) {
            if (SchemaRegistryException.isTransient(e)) {
                // Not the record's fault: fail the task so the record is processed again (exactly once).
                throw new StreamsException("schema registry unavailable while decoding " + md.topic(), e);
            }
            deadLetter(
                    record, md, "undecodable " + (isManifest ? "manifest" : "expert result") + ": " + e.getMessage());
            return;
        }
        long now = context.currentSystemTimeMs();
        catchUp.processed(now, record.timestamp());
        long lag = Math.max(0, now - record.timestamp());
        if (value instanceof DispatchManifest m) {
            manifestLag.record(lag, TimeUnit.MILLISECONDS);
            onManifest(m);
        } else if (value instanceof ExpertResult r) {
            resultLag.record(lag, TimeUnit.MILLISECONDS);
            resultBacklogMs = lag;
            onResult(r, record.value());
        }
    }

    private void deadLetter(Record<String, byte[]> record, RecordMetadata md, String reason) {
        long now = context.currentSystemTimeMs();
        context.forward(
                new Record<>(
                        record.key(),
                        DeadLetters.of(
                                md.topic(),
                                md.partition(),
                                md.offset(),
                                record.key(),
                                record.value(),
                                "value: " + reason,
                                "value",
                                record.key(),
                                now),
                        now),
                CombinerTopology.DEAD_LETTER_SINK);
        deadLetters.increment();
    }

    private void onManifest(DispatchManifest m) {
        String id = m.getRequestId();
        if (done.get(id) != null || manifests.get(id) != null) {
            duplicates.increment();
            LOGGER.debug("Ignoring a duplicate manifest of {}", id);
            return;
        }
        manifests.put(id, m);
        timers.put(CombinerKeys.timer(m.getDeadlineMs(), CombinerKeys.DEADLINE, id), id);
        tryComplete(m, arrivals.get(id));
    }

    /** {@code raw} is the record's value as read, stored as is (decoded again only when the request completes). */
    private void onResult(ExpertResult r, byte[] raw) {
        String id = r.getRequestId();
        int expert = r.getExpert();
        if (done.get(id) != null) {
            duplicates.increment();
            LOGGER.debug("Ignoring a result of expert {} for {}, answered already", expert, id);
            return;
        }
        if (expert < 0) {
            malformed.increment();
            return;
        }
        byte[] arrived = arrivals.get(id);
        if (ArrivalBits.isSet(arrived, expert)) {
            duplicates.increment();
            LOGGER.debug("Ignoring a duplicate result of expert {} for {}", expert, id);
            return;
        }
        arrived = ArrivalBits.set(arrived, expert);
        arrivals.put(id, arrived);
        results.put(CombinerKeys.result(id, expert), raw);
        DispatchManifest m = manifests.get(id);
        if (m == null) {
            // The result overtook its manifest; purge it later should the manifest never come.
            timers.put(
                    CombinerKeys.timer(context.currentSystemTimeMs() + retentionMs, CombinerKeys.PURGE_ORPHANS, id),
                    id);
            return;
        }
        tryComplete(m, arrived);
    }

    private void tryComplete(DispatchManifest m, byte[] arrived) {
        String id = m.getRequestId();
        for (int e : m.getExperts()) {
            if (!ArrivalBits.isSet(arrived, e)) {
                return;
            }
        }
        List<ExpertResult> got = new ArrayList<>(m.getExperts().size());
        for (int e : m.getExperts()) {
            ExpertResult r = stored(id, e);
            if (r == null || !Combine.matches(m, r)) {
                // A result that does not fit its manifest is never combined: the expert counts as missing.
                malformed.increment();
                LOGGER.debug("Ignoring a result of expert {} for {} that does not fit its manifest", e, id);
                results.delete(CombinerKeys.result(id, e));
                arrivals.put(id, ArrivalBits.clear(arrived, e));
                return;
            }
            got.add(r);
        }
        emit(m, got, List.of(), ResponseStatus.OK, null);
    }

    private ExpertResult stored(String id, int wireId) {
        byte[] raw = results.get(CombinerKeys.result(id, wireId));
        return raw == null ? null : resultDeserializer.deserialize(resultsTopic, raw);
    }

    private void emit(
            DispatchManifest m, List<ExpertResult> got, List<Integer> missing, ResponseStatus status, String error) {
        String id = m.getRequestId();
        long now = context.currentSystemTimeMs();
        float[] output = status == ResponseStatus.TIMEOUT ? null : Combine.sum(m, got);
        InferenceResponse response = InferenceResponse.newBuilder()
                .setRequestId(id)
                .setStatus(status)
                .setOutput(output == null ? null : Tensors.f32(output, m.getSeqLen(), m.getHiddenSize()))
                .setTokenExperts(m.getTokenExperts())
                .setTokenWeights(m.getTokenWeights())
                .setDropped(m.getDropped())
                .setMissingExperts(missing)
                .setError(error)
                .setReceivedAtMs(m.getReceivedAtMs())
                .setCompletedAtMs(now)
                .setFingerprint(m.getFingerprint())
                .build();
        context.forward(new Record<>(id, response, now), CombinerTopology.SINK);
        responses.get(status).increment();
        latency.record(Math.max(0, now - m.getReceivedAtMs()), TimeUnit.MILLISECONDS);
        deleteResults(id); // every stored result of the request, also one from an expert the manifest does not list
        arrivals.delete(id);
        manifests.delete(id);
        timers.delete(CombinerKeys.timer(m.getDeadlineMs(), CombinerKeys.DEADLINE, id));
        done.put(id, now);
        timers.put(CombinerKeys.timer(now + retentionMs, CombinerKeys.PURGE_DONE, id), id);
        ledger.settled(id);
        // The response is on the latency path: commit at the end of this Streams loop iteration instead of waiting
        // for the commit interval - unless the combiner is working through a backlog of results (GatewayConfig).
        commits.answered(context, resultBacklogMs);
    }

    private void fireTimers(long now) {
        List<KeyValue<Bytes, String>> due = new ArrayList<>();
        try (KeyValueIterator<Bytes, String> it = timers.all()) {
            while (it.hasNext()) {
                KeyValue<Bytes, String> kv = it.next();
                if (CombinerKeys.timerTime(kv.key) > now) {
                    break;
                }
                due.add(kv);
            }
        }
        boolean caughtUp = catchUp.caughtUp(now);
        for (KeyValue<Bytes, String> kv : due) {
            String id = kv.value;
            byte kind = CombinerKeys.timerKind(kv.key);
            if (kind == CombinerKeys.DEADLINE && !caughtUp && CombinerKeys.timerTime(kv.key) + DEADLINE_HOLD_MS > now) {
                continue; // results may be waiting in the backlog: answer from them first (see CatchUp)
            }
            timers.delete(kv.key);
            if (kind == CombinerKeys.DEADLINE) {
                DispatchManifest m = manifests.get(id);
                if (m != null && done.get(id) == null) {
                    expire(m);
                }
            } else if (kind == CombinerKeys.PURGE_DONE) {
                done.delete(id);
            } else if (kind == CombinerKeys.PURGE_ORPHANS && manifests.get(id) == null) {
                deleteResults(id);
                arrivals.delete(id);
            }
        }
    }

    private void deleteResults(String requestId) {
        List<String> stale = new ArrayList<>();
        try (KeyValueIterator<String, byte[]> it =
                results.prefixScan(CombinerKeys.resultPrefix(requestId), new StringSerializer())) {
            it.forEachRemaining(r -> stale.add(r.key));
        }
        stale.forEach(results::delete);
    }

    private void expire(DispatchManifest m) {
        String id = m.getRequestId();
        List<ExpertResult> got = new ArrayList<>();
        List<Integer> missing = new ArrayList<>();
        for (int e : m.getExperts()) {
            ExpertResult r = stored(id, e);
            if (r == null || !Combine.matches(m, r)) {
                missing.add(e);
            } else {
                got.add(r);
            }
        }
        ResponseStatus status = config.partialOnTimeout() ? ResponseStatus.PARTIAL : ResponseStatus.TIMEOUT;
        String error = "deadline passed before expert(s) " + missing + " answered ("
                + (m.getDeadlineMs() - m.getReceivedAtMs()) + " ms after arrival)";
        LOGGER.debug("Deadline of {}: missing experts {}, arrivals {}", id, missing, arrivals.get(id));
        emit(m, got, missing, status, error);
    }
}
