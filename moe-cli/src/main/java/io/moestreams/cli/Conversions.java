package io.moestreams.cli;

import io.moestreams.avro.InferenceResponse;
import io.moestreams.core.jsonl.RequestLine;
import io.moestreams.core.jsonl.ResponseLine;
import io.moestreams.core.jsonl.ResponseStatus;
import io.moestreams.core.reference.LayerOutput;
import io.moestreams.schemas.Tensors;
import java.util.List;

/** Between the wire records (Avro) and the JSONL lines of the {@code moe} command. */
final class Conversions {

    private Conversions() {}

    static InferenceClient.Input input(RequestLine line) {
        return new InferenceClient.Input(line.id(), line.tokens(), line.seqLen(), line.hiddenSize());
    }

    static ResponseLine line(InferenceResponse r) {
        ResponseStatus status = ResponseStatus.valueOf(r.getStatus().name());
        float[] output = r.getOutput() == null ? new float[0] : Tensors.toFloats(r.getOutput());
        int seqLen = 0;
        int hidden = 0;
        if (r.getOutput() != null) {
            int[] shape = Tensors.shape(r.getOutput());
            seqLen = shape[0];
            hidden = shape[1];
        }
        List<List<Integer>> te = r.getTokenExperts();
        float[] flat = r.getTokenWeights() == null ? new float[0] : Tensors.toFloats(r.getTokenWeights());
        int[][] experts = new int[te.size()][];
        float[][] weights = new float[te.size()][];
        int k = 0;
        for (int t = 0; t < te.size(); t++) {
            List<Integer> list = te.get(t);
            experts[t] = new int[list.size()];
            weights[t] = new float[list.size()];
            for (int j = 0; j < list.size(); j++) {
                experts[t][j] = list.get(j);
                weights[t][j] = k < flat.length ? flat[k] : Float.NaN;
                k++;
            }
        }
        int[] dropped = r.getDropped().stream().mapToInt(Integer::intValue).toArray();
        String error = r.getError();
        return new ResponseLine(
                r.getRequestId(), status, output, seqLen, hidden, experts, weights, dropped, error, r.getFingerprint());
    }

    static ResponseLine line(String id, LayerOutput out) {
        return new ResponseLine(
                id,
                ResponseStatus.OK,
                out.output(),
                out.seqLen(),
                out.hiddenSize(),
                out.assignment().experts(),
                out.assignment().weights(),
                out.assignment().dropped(),
                null);
    }
}
