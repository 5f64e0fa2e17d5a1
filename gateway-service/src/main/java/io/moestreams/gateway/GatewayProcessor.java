package io.moestreams.gateway;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.moestreams.avro.DispatchBlock;
import io.moestreams.avro.DispatchManifest;
import io.moestreams.avro.InferenceRequest;
import io.moestreams.core.config.MoeConfig;
import io.moestreams.core.routing.Assignment;
import io.moestreams.core.routing.CapacityPlanner;
import io.moestreams.core.routing.Router;
import io.moestreams.core.routing.RouterOutput;
import io.moestreams.schemas.DeadLetters;
import io.moestreams.schemas.SchemaRegistryException;
import io.moestreams.schemas.Tensors;
import io.moestreams.schemas.metrics.MoeMeter;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.errors.StreamsException;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.processor.api.RecordMetadata;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;

/**
 * Intake: decode ▸ validate ▸ de-duplicate ▸ gate (whole sequence = one routing group) ▸ capacity ▸ dispatch one
 * block per (request, expert) and one manifest for the combiner. Bad input becomes a REJECTED response plus a
 * dead-letter record carrying the original bytes; the stream goes on.
 */
final class GatewayProcessor implements Processor<byte[], byte[], String, Object> {

    private final GatewayConfig config;
    private final MoeConfig model;
    private final Router router;
    private final Deserializer<InferenceRequest> requestDeserializer;
    private final InFlightLedger ledger;
    private final RequestValidator validator;
    private final Counter accepted;
    private final Counter rejected;
    private final Counter expired;
    private final Counter droppedTokens;
    private final Timer inputLag;
    private final Counter[] dispatchedTokens;

    private ProcessorContext<String, Object> context;
    private KeyValueStore<String, Long> seen;

    GatewayProcessor(
            GatewayConfig config,
            MoeConfig model,
            Router router,
            Deserializer<InferenceRequest> requestDeserializer,
            InFlightLedger ledger,
            MeterRegistry meters) {
        this.config = config;
        this.model = model;
        this.router = router;
        this.requestDeserializer = requestDeserializer;
        this.ledger = ledger;
        this.validator = new RequestValidator(model.hiddenSize(), config.maxSeqLen());
        this.accepted = Counter.builder("moe.gateway.requests")
                .tag("outcome", "accepted")
                .register(meters);
        this.rejected = Counter.builder("moe.gateway.requests")
                .tag("outcome", "rejected")
                .register(meters);
        this.expired = Counter.builder("moe.gateway.requests")
                .tag("outcome", "expired")
                .register(meters);
        this.droppedTokens = Counter.builder("moe.gateway.tokens.dropped")
                .description("tokens whose every choice overflowed capacity")
                .register(meters);
        this.inputLag = MoeMeter.GATEWAY_INPUT_LAG.timer(meters);
        this.dispatchedTokens = new Counter[model.numExperts()];
        for (int e = 0; e < model.numExperts(); e++) {
            dispatchedTokens[e] = Counter.builder("moe.gateway.tokens.dispatched")
                    .tag("expert", Integer.toString(e))
                    .register(meters);
        }
    }

    @Override
    public void init(ProcessorContext<String, Object> context) {
        this.context = context;
        this.seen = context.getStateStore(GatewayTopology.REQUEST_IDS_STORE);
        long period = Math.max(1000, Math.min(60_000, config.dedupeRetention().toMillis() / 4));
        context.schedule(Duration.ofMillis(period), PunctuationType.WALL_CLOCK_TIME, this::purgeSeen);
    }

    @Override
    public void process(Record<byte[], byte[]> record) {
        handle(record);
        // Commit at the end of this Streams loop iteration (batched under load) instead of waiting for the commit
        // interval: the combiner reads manifests read_committed, so this commit is on the latency path.
        if (config.eagerCommit()) {
            context.commit();
        }
    }

    private void handle(Record<byte[], byte[]> record) {
        RecordMetadata md = context.recordMetadata().orElseThrow();
        long now = context.currentSystemTimeMs();
        long receivedAt = record.timestamp();
        inputLag.record(Math.max(0, now - receivedAt), TimeUnit.MILLISECONDS);
        String keyId = record.key() == null ? null : new String(record.key(), StandardCharsets.UTF_8);
        InferenceRequest request;
        try {
            if (record.value() == null || record.value().length == 0) {
                throw new Rejection("value", "empty record: expected an Avro InferenceRequest");
            }
            if (record.value().length > config.maxRequestBytes()) {
                throw new Rejection(
                        "value",
                        "record of " + record.value().length + " bytes exceeds the limit of " + config.maxRequestBytes()
                                + " bytes (moe.gateway.max-request-bytes)");
            }
            try {
                request = requestDeserializer.deserialize(md.topic(), record.headers(), record.value());
            } catch (SerializationException e) {
                if (SchemaRegistryException.isTransient(e)) {
                    // Not the record's fault: fail the task so the record is processed again (exactly once).
                    throw new StreamsException("schema registry unavailable while decoding a request", e);
                }
                throw new Rejection("value", "undecodable request: " + e.getMessage());
            }
        } catch (Rejection r) {
            reject(record, md, keyId, r, receivedAt, now);
            return;
        }
        String id = request.getRequestId();
        float[] rows;
        try {
            rows = validator.validate(request);
            Long firstSeen = seen.get(id);
            if (firstSeen != null) {
                throw new Rejection(
                        "requestId",
                        "duplicate request id '" + id + "' (first seen at " + firstSeen + " ms; ids are remembered for "
                                + config.dedupeRetention().toMillis() + " ms)");
            }
        } catch (Rejection r) {
            reject(record, md, validId(id) ? id : keyId, r, receivedAt, now);
            return;
        }
        seen.put(id, now);
        int seqLen = rows.length / model.hiddenSize();
        // Deadlines count from the gateway's clock (a replayed record's old timestamp must not expire it) and
        // are capped, so a dead expert never holds a request longer than moe.gateway.max-timeout-ms.
        long latest = now + config.maxTimeout().toMillis();
        long deadline = request.getDeadlineMs() != null
                ? Math.min(request.getDeadlineMs(), latest)
                : Math.min(now + config.defaultTimeout().toMillis(), latest);
        if (deadline <= now) {
            expired.increment();
            context.forward(
                    new Record<String, Object>(
                            id,
                            Responses.expired(
                                    id,
                                    "deadlineMs: " + request.getDeadlineMs()
                                            + " had already passed when the request arrived at " + now,
                                    receivedAt,
                                    now),
                            now),
                    GatewayTopology.RESPONSE_SINK);
            return;
        }
        dispatch(id, rows, seqLen, deadline, receivedAt, now);
        accepted.increment();
    }

    private void dispatch(String id, float[] rows, int seqLen, long deadline, long receivedAt, long now) {
        int d = model.hiddenSize();
        RouterOutput routing = router.route(id, rows, seqLen);
        Assignment a = CapacityPlanner.plan(routing, model);
        int[] perExpert = a.tokensPerExpert(model.numExperts());
        List<Integer> experts = new ArrayList<>();
        for (int e = 0; e < model.numExperts(); e++) {
            int n = perExpert[e];
            if (n == 0) {
                continue;
            }
            experts.add(e);
            int[] positions = a.positionsFor(e);
            float[] weights = a.weightsFor(e);
            float[] hidden = new float[n * d];
            List<Integer> posList = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                System.arraycopy(rows, positions[i] * d, hidden, i * d, d);
                posList.add(positions[i]);
            }
            DispatchBlock block = DispatchBlock.newBuilder()
                    .setRequestId(id)
                    .setExpert(e)
                    .setAttempt(0)
                    .setSeqLen(seqLen)
                    .setPositions(posList)
                    .setGateWeights(Tensors.f32(weights, n))
                    .setHidden(Tensors.encode(config.wireDtype(), hidden, n, d))
                    .setDeadlineMs(deadline)
                    .build();
            context.forward(new Record<String, Object>(id, block, now), GatewayTopology.DISPATCH_SINK);
            dispatchedTokens[e].increment(n);
        }
        List<List<Integer>> tokenExperts = new ArrayList<>(seqLen);
        int total = 0;
        for (int t = 0; t < seqLen; t++) {
            total += a.experts()[t].length;
        }
        float[] flatWeights = new float[total];
        int k = 0;
        for (int t = 0; t < seqLen; t++) {
            List<Integer> list = new ArrayList<>(a.experts()[t].length);
            for (int j = 0; j < a.experts()[t].length; j++) {
                list.add(a.experts()[t][j]);
                flatWeights[k++] = a.weights()[t][j];
            }
            tokenExperts.add(list);
        }
        List<Integer> dropped = new ArrayList<>(a.dropped().length);
        for (int p : a.dropped()) {
            dropped.add(p);
        }
        droppedTokens.increment(dropped.size());
        DispatchManifest manifest = DispatchManifest.newBuilder()
                .setRequestId(id)
                .setSeqLen(seqLen)
                .setHiddenSize(d)
                .setDeadlineMs(deadline)
                .setReceivedAtMs(receivedAt)
                .setExperts(experts)
                .setTokenExperts(tokenExperts)
                .setTokenWeights(Tensors.f32(flatWeights, total))
                .setDropped(dropped)
                .build();
        context.forward(new Record<String, Object>(id, manifest, now), GatewayTopology.MANIFEST_SINK);
        ledger.dispatched(id, perExpert, deadline);
    }

    private static boolean validId(String id) {
        try {
            RequestValidator.checkRequestId(id);
            return true;
        } catch (Rejection r) {
            return false;
        }
    }

    private void reject(
            Record<byte[], byte[]> record,
            RecordMetadata md,
            String requestId,
            Rejection r,
            long receivedAt,
            long now) {
        rejected.increment();
        String id = validId(requestId) ? requestId : null;
        context.forward(
                new Record<String, Object>(
                        id,
                        DeadLetters.of(
                                md.topic(),
                                md.partition(),
                                md.offset(),
                                record.key(),
                                record.value(),
                                r.getMessage(),
                                r.field(),
                                id,
                                now),
                        now),
                GatewayTopology.DEAD_LETTER_SINK);
        if (id != null) {
            context.forward(
                    new Record<String, Object>(id, Responses.rejected(id, r.getMessage(), receivedAt, now), now),
                    GatewayTopology.RESPONSE_SINK);
        }
    }

    private void purgeSeen(long now) {
        long cutoff = now - config.dedupeRetention().toMillis();
        List<String> expired = new ArrayList<>();
        try (KeyValueIterator<String, Long> it = seen.all()) {
            while (it.hasNext()) {
                KeyValue<String, Long> kv = it.next();
                if (kv.value < cutoff) {
                    expired.add(kv.key);
                }
            }
        }
        expired.forEach(seen::delete);
    }
}
