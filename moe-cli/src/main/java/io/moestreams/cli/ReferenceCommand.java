package io.moestreams.cli;

import io.moestreams.compute.ffn.Nd4jBackend;
import io.moestreams.core.jsonl.JsonlException;
import io.moestreams.core.jsonl.RequestJsonlReader;
import io.moestreams.core.jsonl.RequestLine;
import io.moestreams.core.jsonl.ResponseJsonlWriter;
import io.moestreams.core.jsonl.ResponseLine;
import io.moestreams.core.model.ExpertSelection;
import io.moestreams.core.model.LayerFingerprint;
import io.moestreams.core.model.MoeModel;
import io.moestreams.core.reference.ReferenceMoeLayer;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code moe reference}: the in-process MoE layer, same JSONL in and out as {@code moe infer}. */
@Command(
        name = "reference",
        mixinStandardHelpOptions = true,
        description = "Compute the MoE layer in-process, without Kafka (the oracle the pipeline must equal). Each "
                + "output line carries the layer's fingerprint, as the pipeline's responses do.")
final class ReferenceCommand implements Callable<Integer> {

    @Option(
            names = "--model",
            required = true,
            paramLabel = "DIR",
            description = "Model directory (moe.json) or Hugging Face checkpoint directory (config.json).")
    Path model;

    @Option(
            names = "--layer",
            paramLabel = "L",
            description = "MoE layer of a Hugging Face checkpoint: decoder layer index, or encoder.B / decoder.B.")
    String layer;

    @Option(names = "--input", required = true, paramLabel = "FILE", description = "Request JSONL.")
    Path input;

    @Option(names = "--output", required = true, paramLabel = "FILE", description = "Response JSONL to write.")
    Path output;

    @Override
    public Integer call() throws Exception {
        long t0 = System.nanoTime();
        long tokens = 0;
        int lines = 0;
        String fingerprint = LayerFingerprint.of(model, layer);
        try (MoeModel m = MoeModel.load(model, layer, ExpertSelection.all(), Nd4jBackend.INSTANCE);
                RequestJsonlReader in =
                        RequestJsonlReader.open(input, m.config().hiddenSize());
                ResponseJsonlWriter out = ResponseJsonlWriter.open(output)) {
            ReferenceMoeLayer layer = new ReferenceMoeLayer(m);
            Set<String> seen = new HashSet<>();
            while (true) {
                RequestLine line;
                try {
                    line = in.next();
                } catch (JsonlException e) {
                    out.write(
                            ResponseLine.rejected(e.id() == null ? "line-" + e.lineNumber() : e.id(), e.getMessage()));
                    lines++;
                    continue;
                }
                if (line == null) {
                    break;
                }
                lines++;
                if (!seen.add(line.id())) {
                    out.write(ResponseLine.rejected(line.id(), "requestId: duplicate request id '" + line.id() + "'"));
                    continue;
                }
                try {
                    out.write(Conversions.line(line.id(), layer.forward(line.id(), line.tokens(), line.seqLen()))
                            .withFingerprint(fingerprint));
                    tokens += line.seqLen();
                } catch (IllegalArgumentException e) {
                    out.write(ResponseLine.rejected(line.id(), e.getMessage()));
                }
            }
        }
        double secs = (System.nanoTime() - t0) / 1e9;
        System.err.printf(
                "moe reference: %d requests, %d tokens in %.2f s (%.0f tokens/s) -> %s%n",
                lines, tokens, secs, tokens / secs, output);
        return 0;
    }
}
