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
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.List;
import java.util.concurrent.TimeUnit;
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
 * Reassembles each request: waits for its manifest and every expected expert result (in any order), sums the
 * contributions per position in the token's expert order starting from 0.0f — exactly the reference layer's
 * order — and emits the response. Duplicates (same request and expert) are ignored. A wall-clock punctuator
 * answers every request whose deadline passed with TIMEOUT (or PARTIAL) naming the missing experts.
 *
 * <p>State: manifests and results wait in persistent stores; a timer index keyed by big-endian time orders the
 * deadlines; a done-marker per answered request keeps late duplicates out until it is purged.
 */
final class CombinerProcessor implements Processor<String, byte[], String, Object> {

    private static final Logger LOGGER = LoggerFactory.getLogger(CombinerProcessor.class);

    static final byte TIMER_DEADLINE = 'T';
    static final byte TIMER_PURGE_DONE = 'P';
    static final byte TIMER_PURGE_ORPHANS = 'O';

    /** The longest a passed deadline waits for the combiner to work through a backlog before it fires anyway. */
    static final long DEADLINE_HOLD_MS = 30_000;

    private CatchUp catchUp;

    private final GatewayConfig config;
    private final InFlightLedger ledger;
    private final long retentionMs;
    private final Counter duplicates;
    private final Counter malformed;
    private final EnumMap<ResponseStatus, Counter> responses = new EnumMap<>(ResponseStatus.class);
    private final Timer latency;
    private final Timer manifestLag;
    private final Timer resultLag;

    private final String manifestsTopic;
    private final Deserializer<DispatchManifest> manifestDeserializer;
    private final Deserializer<ExpertResult> resultDeserializer;
    private final Counter deadLetters;
    private ProcessorContext<String, Object> context;
    private KeyValueStore<String, DispatchManifest> manifests;
    private KeyValueStore<String, ExpertResult> results;
    private KeyValueStore<Bytes, String> timers;
    private KeyValueStore<String, Long> done;
    private KeyValueStore<String, byte[]> arrivals;

    CombinerProcessor(
            GatewayConfig config,
            String manifestsTopic,
            Deserializer<DispatchManifest> manifestDeserializer,
            Deserializer<ExpertResult> resultDeserializer,
            InFlightLedger ledger,
            MeterRegistry meters) {
        this.manifestsTopic = manifestsTopic;
        this.manifestDeserializer = manifestDeserializer;
        this.resultDeserializer = resultDeserializer;
        this.deadLetters = Counter.builder("moe.combiner.dead.letters")
                .description("manifests or results that could not be decoded, sent to the dead-letter topic")
                .register(meters);
        this.config = config;
        this.ledger = ledger;
        this.retentionMs = Math.max(60_000, config.defaultTimeout().toMillis());
        this.duplicates = Counter.builder("moe.combiner.duplicates")
                .description("expert results or manifests seen more than once and ignored")
                .register(meters);
        this.malformed = Counter.builder("moe.combiner.malformed.results")
                .description("expert results whose shape or positions do not match the manifest; ignored")
                .register(meters);
        for (ResponseStatus s : ResponseStatus.values()) {
            responses.put(
                    s,
                    Counter.builder("moe.combiner.responses")
                            .tag("status", s.name())
                            .register(meters));
        }
        this.manifestLag = MoeMeter.COMBINER_INPUT_LAG.timer(meters, "manifest");
        this.resultLag = MoeMeter.COMBINER_INPUT_LAG.timer(meters, "result");
        this.latency = Timer.builder("moe.combiner.latency")
                .description("request arrival to response emission")
                .publishPercentiles(0.5, 0.99)
                .register(meters);
    }

    @Override
    public void init(ProcessorContext<String, Object> context) {
        this.context = context;
        this.manifests = context.getStateStore(CombinerTopology.MANIFESTS_STORE);
        this.results = context.getStateStore(CombinerTopology.RESULTS_STORE);
        this.timers = context.getStateStore(CombinerTopology.TIMERS_STORE);
        this.done = context.getStateStore(CombinerTopology.DONE_STORE);
        this.arrivals = context.getStateStore(CombinerTopology.ARRIVALS_STORE);
        this.catchUp = new CatchUp(context.currentSystemTimeMs());
        context.schedule(Duration.ofMillis(100), PunctuationType.WALL_CLOCK_TIME, this::fireTimers);
    }

    @Override
    public void process(Record<String, byte[]> record) {
        RecordMetadata md = context.recordMetadata().orElseThrow();
        boolean isManifest = md.topic().equals(manifestsTopic);
        Object value;
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
        long lag = Math.max(0, now - record.timestamp());
        catchUp.processed(now, record.timestamp());
        if (value instanceof DispatchManifest m) {
            manifestLag.record(lag, TimeUnit.MILLISECONDS);
            onManifest(m);
        } else if (value instanceof ExpertResult r) {
            resultLag.record(lag, TimeUnit.MILLISECONDS);
            onResult(r);
        }
    }

    private void deadLetter(Record<String, byte[]> record, RecordMetadata md, String reason) {
        long now = context.currentSystemTimeMs();
        byte[] key = record.key() == null ? null : record.key().getBytes(StandardCharsets.UTF_8);
        context.forward(
                new Record<String, Object>(
                        record.key(),
                        DeadLetters.of(
                                md.topic(),
                                md.partition(),
                                md.offset(),
                                key,
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
            return;
        }
        manifests.put(id, m);
        timers.put(timerKey(m.getDeadlineMs(), TIMER_DEADLINE, id), id);
        tryComplete(m, arrivals.get(id));
    }

    private void onResult(ExpertResult r) {
        String id = r.getRequestId();
        if (done.get(id) != null) {
            duplicates.increment();
            return;
        }
        int expert = r.getExpert();
        if (expert < 0) {
            malformed.increment();
            return;
        }
        // Which experts answered is a small bitset, so neither duplicate detection nor the completeness check
        // has to read (and decode) stored results: each result is decoded once more, when the request completes.
        byte[] arrived = arrivals.get(id);
        if (isSet(arrived, expert)) {
            duplicates.increment();
            return;
        }
        arrived = set(arrived, expert);
        arrivals.put(id, arrived);
        results.put(resultKey(id, expert), r);
        DispatchManifest m = manifests.get(id);
        if (m == null) {
            // The result overtook its manifest; purge it later should the manifest never come.
            timers.put(timerKey(context.currentSystemTimeMs() + retentionMs, TIMER_PURGE_ORPHANS, id), id);
            return;
        }
        tryComplete(m, arrived);
    }

    static boolean isSet(byte[] bits, int i) {
        return bits != null && i / 8 < bits.length && (bits[i / 8] & (1 << (i % 8))) != 0;
    }

    static byte[] set(byte[] bits, int i) {
        byte[] out = bits == null || bits.length <= i / 8
                ? Arrays.copyOf(bits == null ? new byte[0] : bits, i / 8 + 1)
                : bits.clone();
        out[i / 8] |= (byte) (1 << (i % 8));
        return out;
    }

    static byte[] clear(byte[] bits, int i) {
        if (!isSet(bits, i)) {
            return bits;
        }
        byte[] out = bits.clone();
        out[i / 8] &= (byte) ~(1 << (i % 8));
        return out;
    }

    private void tryComplete(DispatchManifest m, byte[] arrived) {
        String id = m.getRequestId();
        for (int e : m.getExperts()) {
            if (!isSet(arrived, e)) {
                return;
            }
        }
        List<ExpertResult> got = new ArrayList<>(m.getExperts().size());
        for (int e : m.getExperts()) {
            ExpertResult r = results.get(resultKey(id, e));
            if (r == null || !matches(m, r)) {
                // A result that does not fit its manifest is never combined: the expert counts as missing.
                malformed.increment();
                results.delete(resultKey(id, e));
                arrivals.put(id, clear(arrived, e));
                LOGGER.debug(
                        "Ignoring a malformed result of expert {} (shape or positions do not match the manifest)", e);
                return;
            }
            got.add(r);
        }
        emit(m, got, List.of(), ResponseStatus.OK, null);
    }

    /** The result carries exactly the positions the manifest routed to its expert, as [n, hiddenSize] rows. */
    static boolean matches(DispatchManifest m, ExpertResult r) {
        int e = r.getExpert();
        List<Integer> expected = new ArrayList<>();
        List<List<Integer>> tokenExperts = m.getTokenExperts();
        for (int t = 0; t < tokenExperts.size(); t++) {
            if (tokenExperts.get(t).contains(e)) {
                expected.add(t);
            }
        }
        if (!expected.equals(r.getPositions())) {
            return false;
        }
        try {
            Tensors.validate(r.getOutput(), "output");
            int[] shape = Tensors.shape(r.getOutput());
            return shape.length == 2 && shape[0] == expected.size() && shape[1] == m.getHiddenSize();
        } catch (IllegalArgumentException ex) {
            return false;
        }
    }

    private void emit(
            DispatchManifest m, List<ExpertResult> got, List<Integer> missing, ResponseStatus status, String error) {
        String id = m.getRequestId();
        long now = context.currentSystemTimeMs();
        float[] output = status == ResponseStatus.TIMEOUT ? null : combine(m, got);
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
                .build();
        context.forward(new Record<String, Object>(id, response, now), CombinerTopology.SINK);
        responses.get(status).increment();
        latency.record(Math.max(0, now - m.getReceivedAtMs()), TimeUnit.MILLISECONDS);
        deleteResults(id); // every stored result of the request, also one from an expert the manifest does not list
        arrivals.delete(id);
        manifests.delete(id);
        timers.delete(timerKey(m.getDeadlineMs(), TIMER_DEADLINE, id));
        done.put(id, now);
        timers.put(timerKey(now + retentionMs, TIMER_PURGE_DONE, id), id);
        ledger.settled(id);
        // The response is on the latency path: commit at the end of this Streams loop iteration (batched under
        // load) instead of waiting for the commit interval.
        if (config.eagerCommit()) {
            context.commit();
        }
    }

    /** Σ_j contribution of the token's j-th expert, in rank order, starting from 0.0f (the reference's order). */
    static float[] combine(DispatchManifest m, List<ExpertResult> got) {
        int s = m.getSeqLen();
        int d = m.getHiddenSize();
        float[] out = new float[s * d];
        int maxExpert = -1;
        for (ExpertResult r : got) {
            maxExpert = Math.max(maxExpert, r.getExpert());
        }
        float[][] outputs = new float[maxExpert + 1][];
        int[][] rowOf = new int[maxExpert + 1][];
        for (ExpertResult r : got) {
            int e = r.getExpert();
            outputs[e] = Tensors.toFloats(r.getOutput());
            int[] rows = new int[s];
            Arrays.fill(rows, -1);
            List<Integer> positions = r.getPositions();
            for (int i = 0; i < positions.size(); i++) {
                int t = positions.get(i);
                if (t >= 0 && t < s) {
                    rows[t] = i;
                }
            }
            rowOf[e] = rows;
        }
        List<List<Integer>> tokenExperts = m.getTokenExperts();
        for (int t = 0; t < s; t++) {
            List<Integer> experts = tokenExperts.get(t);
            int base = t * d;
            for (int e : experts) {
                if (e > maxExpert || outputs[e] == null || rowOf[e][t] < 0) {
                    continue; // missing contribution (PARTIAL)
                }
                float[] src = outputs[e];
                int off = rowOf[e][t] * d;
                for (int i = 0; i < d; i++) {
                    out[base + i] += src[off + i];
                }
            }
        }
        return out;
    }

    private void fireTimers(long now) {
        List<KeyValue<Bytes, String>> due = new ArrayList<>();
        try (KeyValueIterator<Bytes, String> it = timers.all()) {
            while (it.hasNext()) {
                KeyValue<Bytes, String> kv = it.next();
                if (timerTime(kv.key) > now) {
                    break;
                }
                due.add(kv);
            }
        }
        boolean caughtUp = catchUp.caughtUp(now);
        for (KeyValue<Bytes, String> kv : due) {
            String id = kv.value;
            byte kind = kv.key.get()[Long.BYTES];
            if (kind == TIMER_DEADLINE && !caughtUp && timerTime(kv.key) + DEADLINE_HOLD_MS > now) {
                continue; // results may be waiting in the backlog: answer from them first (see CatchUp)
            }
            timers.delete(kv.key);
            if (kind == TIMER_DEADLINE) {
                DispatchManifest m = manifests.get(id);
                if (m != null && done.get(id) == null) {
                    expire(m);
                }
            } else if (kind == TIMER_PURGE_DONE) {
                done.delete(id);
            } else if (kind == TIMER_PURGE_ORPHANS && manifests.get(id) == null) {
                deleteResults(id);
                arrivals.delete(id);
            }
        }
    }

    private void deleteResults(String requestId) {
        List<String> stale = new ArrayList<>();
        try (KeyValueIterator<String, ExpertResult> it =
                results.prefixScan(requestId + '\u0000', new StringSerializer())) {
            it.forEachRemaining(r -> stale.add(r.key));
        }
        stale.forEach(results::delete);
    }

    private void expire(DispatchManifest m) {
        String id = m.getRequestId();
        List<ExpertResult> got = new ArrayList<>();
        List<Integer> missing = new ArrayList<>();
        for (int e : m.getExperts()) {
            ExpertResult r = results.get(resultKey(id, e));
            if (r == null || !matches(m, r)) {
                missing.add(e);
            } else {
                got.add(r);
            }
        }
        ResponseStatus status = config.partialOnTimeout() ? ResponseStatus.PARTIAL : ResponseStatus.TIMEOUT;
        String error = "deadline passed before expert(s) " + missing + " answered ("
                + (m.getDeadlineMs() - m.getReceivedAtMs()) + " ms after arrival)";
        LOGGER.debug("Request timed out waiting for experts {}", missing);
        emit(m, got, missing, status, error);
    }

    static String resultKey(String requestId, int expert) {
        return requestId + '\u0000' + String.format("%06d", expert);
    }

    static Bytes timerKey(long timeMs, byte kind, String requestId) {
        byte[] id = requestId.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(Long.BYTES + 1 + id.length);
        b.putLong(Math.max(0, timeMs)).put(kind).put(id);
        return Bytes.wrap(b.array());
    }

    static long timerTime(Bytes key) {
        return ByteBuffer.wrap(key.get()).getLong();
    }
}
