package io.moestreams.cli;

import io.moestreams.avro.CassetteEntry;
import io.moestreams.avro.InferenceRequest;
import io.moestreams.core.jsonl.ResponseLine;
import io.moestreams.core.jsonl.ResponseStatus;
import io.moestreams.core.reference.LayerOutput;
import io.moestreams.core.reference.ReferenceMoeLayer;
import io.moestreams.core.routing.Assignment;
import io.moestreams.schemas.Tensors;
import java.util.Objects;

/**
 * Re-runs recorded requests and compares each answer with its recording. The answers come from an {@link Engine}:
 * in-process, the reference layer (the same expert kernels and summation order as the pipeline, so outputs are
 * bit-identical on the same model); or the responses of a shadow deployment ({@link ShadowReplay}).
 *
 * <p>With forced routing (in-process), each token uses the recorded experts and gate weights, per rank (k-slot), and the recorded
 * dropped positions, instead of the router's decision: a changed router then changes nothing, and what differs is
 * the experts' computation alone.
 */
final class Replayer {

    /** What a recorded request is replayed against. */
    @FunctionalInterface
    interface Engine {
        /**
         * The answer to one recorded request.
         *
         * @param recorded its recorded response (status OK)
         * @throws IllegalArgumentException when it cannot be computed (the message says why)
         */
        ResponseLine answer(String id, float[] tokens, int seqLen, ResponseLine recorded);
    }

    private final Engine engine;
    private final double tolerance;
    private final ReplayReport report;

    Replayer(Engine engine, double tolerance, ReplayReport report) {
        this.engine = Objects.requireNonNull(engine, "engine");
        if (!(tolerance >= 0) || Double.isInfinite(tolerance)) {
            throw new IllegalArgumentException("--tolerance: expected a finite value >= 0, found " + tolerance);
        }
        this.tolerance = tolerance;
        this.report = Objects.requireNonNull(report, "report");
    }

    /** The reference layer in this process; with {@code forcedRouting} on the recorded routing. */
    static Engine inProcess(ReferenceMoeLayer layer, boolean forcedRouting) {
        Objects.requireNonNull(layer, "layer");
        return (id, tokens, seqLen, recorded) -> {
            LayerOutput out = forcedRouting
                    ? layer.forward(id, tokens, seqLen, forced(recorded, seqLen))
                    : layer.forward(id, tokens, seqLen);
            return Conversions.line(id, out);
        };
    }

    /** Replays one entry, adds its outcome to the report and returns it. */
    RequestDiff replay(CassetteEntry entry) {
        String id = entry.getRequestId();
        InferenceRequest request = entry.getRequest();
        ResponseLine recorded = entry.getResponse() == null ? null : Conversions.line(entry.getResponse());
        String recordedFingerprint = recorded == null ? null : recorded.fingerprint();
        int[] shape = Tensors.shape(request.getTokens());
        int seqLen = shape.length == 2 ? shape[0] : 0;
        RequestDiff diff;
        if (recorded == null) {
            diff = RequestDiff.skipped(id, seqLen, "no response was recorded");
        } else if (recorded.status() != ResponseStatus.OK) {
            diff = RequestDiff.skipped(
                    id,
                    seqLen,
                    "recorded status " + recorded.status() + (recorded.error() == null ? "" : ": " + recorded.error()));
        } else if (shape.length != 2) {
            diff = RequestDiff.failed(
                    id,
                    0,
                    "tokens: expected shape [S, d], found "
                            + request.getTokens().getShape());
        } else {
            ResponseLine replayed;
            try {
                replayed = engine.answer(id, Tensors.toFloats(request.getTokens()), seqLen, recorded);
            } catch (IllegalArgumentException e) {
                diff = RequestDiff.failed(id, seqLen, e.getMessage());
                report.add(diff, recordedFingerprint);
                return diff;
            }
            diff = ReplayComparison.compare(recorded, replayed, tolerance, report.histogram());
            report.add(diff, recordedFingerprint, recorded, replayed);
            return diff;
        }
        report.add(diff, recordedFingerprint);
        return diff;
    }

    /**
     * The recorded routing as an assignment: experts and weights per token and rank, and the dropped positions.
     *
     * @throws IllegalArgumentException when the recording does not carry one routing per token
     */
    static Assignment forced(ResponseLine recorded, int seqLen) {
        if (recorded.experts().length != seqLen) {
            throw new IllegalArgumentException("forced routing: the recorded response routes "
                    + recorded.experts().length + " tokens, the request has " + seqLen);
        }
        return new Assignment(seqLen, recorded.experts(), recorded.weights(), recorded.dropped(), -1);
    }

    @Override
    public String toString() {
        return "Replayer[tolerance=" + tolerance + "]";
    }
}
