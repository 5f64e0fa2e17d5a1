package io.moestreams.gateway;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.moestreams.avro.DispatchBlock;
import io.moestreams.avro.InferenceRequest;
import io.moestreams.core.config.MoeConfig;
import io.moestreams.core.routing.Assignment;
import io.moestreams.core.routing.CapacityPlanner;
import io.moestreams.core.routing.Router;
import io.moestreams.core.routing.RouterOutput;
import io.moestreams.schemas.DeadLetters;
import io.moestreams.schemas.ExpertIds;
import io.moestreams.schemas.SchemaRegistryException;
import io.moestreams.schemas.metrics.MoeMeter;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.streams.errors.StreamsException;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.processor.api.RecordMetadata;

/**
 * Intake: decode ▸ validate ▸ de-duplicate ▸ gate (whole sequence = one routing group) ▸ capacity ▸ dispatch one
 * block per (request, expert) — shared experts included — and one manifest for the combiner ({@link Dispatch}). Bad
 * input becomes a REJECTED response plus a dead-letter record carrying the original bytes; the stream goes on.
 */
final class GatewayProcessor implements Processor<byte[], byte[], String, SpecificRecord> {

    private final GatewayConfig config;
    private final MoeConfig model;
    private final Router router;
    private final String fingerprint;
    private final Deserializer<InferenceRequest> requestDeserializer;
    private final InFlightLedger ledger;
    private final RoutingObserver observer;
    private final RequestValidator validator;
    private final Counter accepted;
    private final Counter rejected;
    private final Counter expired;
    private final Counter droppedTokens;
    private final Timer inputLag;
    private final EagerCommits commits;
    private final Counter[] dispatchedTokens;

    private ProcessorContext<String, SpecificRecord> context;
    private RequestIds seen;

    GatewayProcessor(
            GatewayConfig config,
            MoeConfig model,
            Router router,
            String fingerprint,
            Deserializer<InferenceRequest> requestDeserializer,
            InFlightLedger ledger,
            RoutingObserver observer,
            MeterRegistry meters) {
        this.config = config;
        this.model = model;
        this.router = router;
        this.fingerprint = fingerprint;
        this.requestDeserializer = requestDeserializer;
        this.ledger = ledger;
        this.observer = observer;
        this.validator = new RequestValidator(model.hiddenSize(), config.maxSeqLen());
        this.accepted = MoeMeter.GATEWAY_REQUESTS.counter(meters, "accepted");
        this.rejected = MoeMeter.GATEWAY_REQUESTS.counter(meters, "rejected");
        this.expired = MoeMeter.GATEWAY_REQUESTS.counter(meters, "expired");
        this.droppedTokens = MoeMeter.GATEWAY_TOKENS_DROPPED.counter(meters);
        this.inputLag = MoeMeter.GATEWAY_INPUT_LAG.timer(meters);
        this.commits = new EagerCommits(config, meters, "intake");
        int targets = model.numExperts() + model.numSharedExperts();
        this.dispatchedTokens = new Counter[targets];
        for (int w = 0; w < targets; w++) {
            dispatchedTokens[w] =
                    MoeMeter.GATEWAY_TOKENS_DISPATCHED.counter(meters, ExpertIds.name(w, model.numExperts()));
        }
    }

    @Override
    public void init(ProcessorContext<String, SpecificRecord> context) {
        this.context = context;
        this.seen = new RequestIds(
                context.getStateStore(GatewayTopology.REQUEST_IDS_STORE),
                context.getStateStore(GatewayTopology.REQUEST_IDS_BY_TIME_STORE));
        long period = Math.max(1000, Math.min(60_000, config.dedupeRetention().toMillis() / 4));
        context.schedule(
                Duration.ofMillis(period),
                PunctuationType.WALL_CLOCK_TIME,
                now -> seen.forgetBefore(now - config.dedupeRetention().toMillis()));
    }

    @Override
    public void process(Record<byte[], byte[]> record) {
        handle(record);
        // Commit at the end of this Streams loop iteration instead of waiting for the commit interval: the combiner
        // reads manifests read_committed, so this commit is on the latency path. Not for a backlog (a burst): a
        // transaction per request would halve what the gateway can take (README, "Latency or throughput").
        commits.answered(context, context.currentSystemTimeMs() - record.timestamp());
    }

    private void handle(Record<byte[], byte[]> record) {
        RecordMetadata md = context.recordMetadata().orElseThrow();
        long now = context.currentSystemTimeMs();
        long receivedAt = record.timestamp();
        inputLag.record(Math.max(0, now - receivedAt), TimeUnit.MILLISECONDS);
        // size, key (= request id) length and header count are checked before anything is decoded
        boolean keyFits = record.key() != null && record.key().length <= RequestValidator.MAX_KEY_BYTES;
        String keyId = keyFits ? new String(record.key(), StandardCharsets.UTF_8) : null;
        InferenceRequest request;
        try {
            RequestValidator.checkRecord(record.key(), record.headers(), record.value(), config.maxRequestBytes());
            request = decode(record, md);
        } catch (Rejection r) {
            reject(record, md, keyId, r, receivedAt, now);
            return;
        }
        String id = request.getRequestId();
        float[] rows;
        try {
            rows = validator.validate(request);
            Long firstSeen = seen.firstSeen(id);
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
        seen.remember(id, now);
        // Deadlines count from the gateway's clock (a replayed record's old timestamp must not expire it) and
        // are capped, so a dead expert never holds a request longer than moe.gateway.max-timeout-ms.
        long latest = now + config.maxTimeout().toMillis();
        long deadline = request.getDeadlineMs() != null
                ? Math.min(request.getDeadlineMs(), latest)
                : Math.min(now + config.defaultTimeout().toMillis(), latest);
        if (deadline <= now) {
            expired.increment();
            String reason =
                    "deadlineMs: " + request.getDeadlineMs() + " had already passed when the request arrived at " + now;
            context.forward(
                    new Record<>(id, Responses.expired(id, reason, receivedAt, now), now),
                    GatewayTopology.RESPONSE_SINK);
            return;
        }
        int seqLen = rows.length / model.hiddenSize();
        RouterOutput routed = router.route(id, rows, seqLen);
        Assignment a = CapacityPlanner.plan(routed, model);
        observer.routed(routed, a);
        Dispatch dispatch = Dispatch.plan(
                id,
                rows,
                seqLen,
                model.hiddenSize(),
                a,
                model.numExperts(),
                config.wireDtype(),
                deadline,
                receivedAt,
                fingerprint);
        for (DispatchBlock block : dispatch.blocks()) {
            context.forward(new Record<>(id, block, now), GatewayTopology.DISPATCH_SINK);
            dispatchedTokens[block.getExpert()].increment(block.getPositions().size());
        }
        context.forward(new Record<>(id, dispatch.manifest(), now), GatewayTopology.MANIFEST_SINK);
        droppedTokens.increment(dispatch.droppedTokens());
        ledger.dispatched(id, dispatch.tokensPerWire(), deadline);
        accepted.increment();
    }

    private InferenceRequest decode(Record<byte[], byte[]> record, RecordMetadata md) {
        try {
            return requestDeserializer.deserialize(md.topic(), record.headers(), record.value());
        } catch (SerializationException e) {
            if (SchemaRegistryException.isTransient(e)) {
                // Not the record's fault: fail the task so the record is processed again (exactly once).
                throw new StreamsException("schema registry unavailable while decoding a request", e);
            }
            throw new Rejection("value", "undecodable request: " + e.getMessage());
        }
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
                new Record<>(
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
                    new Record<>(id, Responses.rejected(id, r.getMessage(), receivedAt, now), now),
                    GatewayTopology.RESPONSE_SINK);
        }
    }
}
