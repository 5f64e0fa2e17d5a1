package io.moestreams.cli;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.moestreams.avro.CassetteEntry;
import io.moestreams.avro.ResponseStatus;
import io.moestreams.core.config.MoeConfig;
import io.moestreams.core.jsonl.ResponseLine;
import io.moestreams.embedded.EmbeddedStack;
import io.moestreams.gateway.GatewayConfig;
import io.moestreams.schemas.Tensors;
import io.moestreams.schemas.Topics;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Replays recorded requests through a deployment serving under another topic prefix (a shadow): sends them to its
 * requests topic and collects its responses, which {@link Replayer} then compares with the recording. The shadow
 * runs elsewhere, or in this process ({@code startServices}: the gateway and every expert of the model), on the
 * given cluster or, without one, on the embedded stack.
 *
 * <p>The gateway refuses a request id it has already served (within its dedupe retention), so each replay through
 * the same running shadow needs a fresh topic prefix; ids are not rewritten, because noisy and random routing are
 * seeded by the request id.
 */
final class ShadowReplay {

    /** Where the shadow runs. */
    record Target(
            String bootstrap, String registry, Map<String, String> kafka, String topicPrefix, boolean startServices) {}

    private ShadowReplay() {}

    /**
     * The shadow's answers to the entries recorded with an OK response, by request id.
     *
     * @throws IllegalStateException when some requests get no response within the timeout
     */
    static Map<String, ResponseLine> answers(
            List<CassetteEntry> entries, Path model, String layer, MoeConfig config, Target target, Duration timeout)
            throws Exception {
        List<InferenceClient.Input> inputs = new ArrayList<>();
        for (CassetteEntry e : entries) {
            if (e.getResponse() == null || e.getResponse().getStatus() != ResponseStatus.OK) {
                continue; // skipped by the comparison anyway
            }
            int[] shape = Tensors.shape(e.getRequest().getTokens());
            if (shape.length == 2) {
                inputs.add(new InferenceClient.Input(
                        e.getRequestId(), Tensors.toFloats(e.getRequest().getTokens()), shape[0], shape[1]));
            }
        }
        boolean embedded = target.bootstrap() == null;
        EmbeddedStack stack = embedded ? EmbeddedStack.start() : null;
        try {
            String bootstrap = embedded ? stack.bootstrapServers() : target.bootstrap();
            String registry = embedded ? stack.schemaRegistryUrl() : target.registry();
            LocalPipeline pipeline = null;
            if (embedded || target.startServices()) {
                String all = "0-" + (config.numExperts() - 1) + (config.numSharedExperts() > 0 ? ",shared" : "");
                Map<String, String> layerSetting = layer == null ? Map.of() : Map.of(GatewayConfig.MODEL_LAYER, layer);
                pipeline = LocalPipeline.start(
                        model,
                        bootstrap,
                        registry,
                        target.topicPrefix(),
                        List.of(all),
                        layerSetting,
                        layerSetting,
                        new SimpleMeterRegistry());
            }
            try (InferenceClient client =
                    new InferenceClient(bootstrap, registry, new Topics(target.topicPrefix()), target.kafka())) {
                Map<String, ResponseLine> out = new HashMap<>();
                ProgressBar bar = new ProgressBar(System.err, "shadow", inputs.size());
                client.run(inputs, timeout, bar::update)
                        .forEach((id, answer) -> out.put(id, Conversions.line(answer.response())));
                return out;
            } finally {
                if (pipeline != null) {
                    pipeline.close();
                }
            }
        } finally {
            if (stack != null) {
                stack.close();
            }
        }
    }

    /** An engine answering from the shadow's responses. */
    static Replayer.Engine engine(Map<String, ResponseLine> answers) {
        return (id, tokens, seqLen, recorded) -> {
            ResponseLine r = answers.get(id);
            if (r == null) {
                throw new IllegalArgumentException("the shadow deployment sent no response");
            }
            return r;
        };
    }
}
