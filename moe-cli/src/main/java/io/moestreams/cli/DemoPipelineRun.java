package io.moestreams.cli;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.moestreams.embedded.EmbeddedStack;
import io.moestreams.gateway.GatewayConfig;
import io.moestreams.schemas.Topics;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;

/**
 * The pipeline half of {@code moe demo}: the embedded broker and registry, the gateway and two expert processes,
 * a warm-up, then every request sent at once and timed.
 *
 * @param answers the answers by request id
 * @param seconds wall time of the measured run (warm-up excluded)
 */
record DemoPipelineRun(Map<String, InferenceClient.Answer> answers, double seconds) {

    /** Requests sent (and answered) before the measured run. */
    static final int WARMUP = 100;

    /**
     * Runs {@code inputs} through the whole platform on {@code modelDir} (layer {@code layer} of a Hugging Face
     * checkpoint, or null), printing its progress to {@code out}; everything started is stopped again.
     */
    static DemoPipelineRun run(
            PrintStream out, Path modelDir, String layer, int experts, List<InferenceClient.Input> inputs)
            throws Exception {
        try (EmbeddedStack stack = EmbeddedStack.start()) {
            out.printf(
                    "embedded Kafka %s (%d ms), schema registry %s (%d ms)%n",
                    stack.bootstrapServers(),
                    stack.startupMillis().brokerMillis(),
                    stack.schemaRegistryUrl(),
                    stack.startupMillis().registryMillis());
            // two expert processes; the second also serves the shared experts, if the layer has any
            List<String> groups = PipelineBench.expertGroups(experts);
            Map<String, String> layerSetting = layer == null ? Map.of() : Map.of(GatewayConfig.MODEL_LAYER, layer);
            LocalPipeline pipeline = LocalPipeline.start(
                    modelDir,
                    stack.bootstrapServers(),
                    stack.schemaRegistryUrl(),
                    Topics.DEFAULT_PREFIX,
                    groups,
                    layerSetting,
                    layerSetting,
                    new SimpleMeterRegistry());
            out.printf("gateway + combiner up; expert processes serving %s%n", groups);
            try (InferenceClient client =
                    new InferenceClient(stack.bootstrapServers(), stack.schemaRegistryUrl(), new Topics(), Map.of())) {
                warmUp(out, client, inputs);
                ProgressBar bar = new ProgressBar(System.err, "requests", inputs.size());
                long t0 = System.nanoTime();
                Map<String, InferenceClient.Answer> answers = client.run(inputs, Duration.ofMinutes(3), bar::update);
                return new DemoPipelineRun(answers, (System.nanoTime() - t0) / 1e9);
            } finally {
                pipeline.close();
            }
        }
    }

    /** The first transactions, fetch sessions and JIT of every hop, not counted in the measured run. */
    private static void warmUp(PrintStream out, InferenceClient client, List<InferenceClient.Input> inputs)
            throws InterruptedException, ExecutionException {
        List<InferenceClient.Input> warmup = new ArrayList<>();
        for (int i = 0; i < WARMUP && i < inputs.size(); i++) {
            InferenceClient.Input in = inputs.get(i);
            warmup.add(new InferenceClient.Input("warmup-" + i, in.tokens(), in.seqLen(), in.hiddenSize()));
        }
        long w0 = System.nanoTime();
        client.run(warmup, Duration.ofMinutes(2), n -> {});
        out.printf("warm-up: %d requests answered in %.2f s%n", warmup.size(), (System.nanoTime() - w0) / 1e9);
    }
}
