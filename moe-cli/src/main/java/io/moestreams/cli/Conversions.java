package io.moestreams.cli;

import io.moestreams.avro.InferenceResponse;
import io.moestreams.core.jsonl.RequestLine;
import io.moestreams.core.jsonl.ResponseLine;
import io.moestreams.core.reference.LayerOutput;
import io.moestreams.replay.ResponseLines;

/** Between the wire records (Avro) and the JSONL lines of the {@code moe} command. */
final class Conversions {

    private Conversions() {}

    static InferenceClient.Input input(RequestLine line) {
        return new InferenceClient.Input(line.id(), line.tokens(), line.seqLen(), line.hiddenSize());
    }

    static ResponseLine line(InferenceResponse r) {
        return ResponseLines.of(r);
    }

    static ResponseLine line(String id, LayerOutput out) {
        return ResponseLines.of(id, out);
    }
}
