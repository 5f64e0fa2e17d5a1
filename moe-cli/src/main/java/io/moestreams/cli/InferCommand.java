package io.moestreams.cli;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.moestreams.core.config.MoeConfig;
import io.moestreams.core.jsonl.JsonlException;
import io.moestreams.core.jsonl.RequestJsonlReader;
import io.moestreams.core.jsonl.RequestLine;
import io.moestreams.core.jsonl.ResponseJsonlWriter;
import io.moestreams.core.jsonl.ResponseLine;
import io.moestreams.core.model.MoeModel;
import io.moestreams.embedded.EmbeddedStack;
import io.moestreams.gateway.GatewayConfig;
import io.moestreams.schemas.Topics;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code moe infer}: requests through the Kafka pipeline, one output line per input line. */
@Command(
        name = "infer",
        mixinStandardHelpOptions = true,
        description = "Run requests through the Kafka pipeline. Without --bootstrap-servers it starts the embedded "
                + "broker, registry, gateway and experts for the run.")
final class InferCommand implements Callable<Integer> {

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

    @Option(
            names = "--bootstrap-servers",
            paramLabel = "B",
            description = "A running cluster whose gateway and experts serve the model (else: embedded).")
    String bootstrapServers;

    @Option(names = "--schema-registry", paramLabel = "URL", description = "Its Confluent-API schema registry.")
    String schemaRegistry;

    @Option(
            names = "--config",
            paramLabel = "FILE",
            description = "Kafka client properties of the client (e.g. the moe-client.properties of `moe up "
                    + "--secure`: security.protocol, sasl.*, ssl.*) and the registry's basic.auth.* / bearer.auth.*; "
                    + "its bootstrap.servers stands in for --bootstrap-servers.")
    Path configFile;

    @Option(
            names = "--topic-prefix",
            defaultValue = Topics.DEFAULT_PREFIX,
            description = "Topic prefix (default ${DEFAULT-VALUE}).")
    String topicPrefix;

    @Option(
            names = "--start-services",
            description = "With --bootstrap-servers: also run the gateway and all experts in this process.")
    boolean startServices;

    @Option(names = "--timeout-s", defaultValue = "300", description = "Give up after (default ${DEFAULT-VALUE} s).")
    long timeoutSeconds;

    @Option(
            names = "--deadline-s",
            description = "Deadline of each request, in seconds after it is sent (default: the gateway's "
                    + "moe.gateway.default-timeout-ms; capped by its moe.gateway.max-timeout-ms).")
    Long deadlineSeconds;

    @Override
    public Integer call() throws Exception {
        MoeConfig config = MoeModel.readConfig(model, layer);
        List<Object> lines = readInput(config.hiddenSize());
        if (deadlineSeconds != null && deadlineSeconds < 1) {
            throw new CommandLine.ParameterException(
                    new CommandLine(this), "--deadline-s: expected >= 1, found " + deadlineSeconds);
        }
        Map<String, String> kafka = ClientProperties.load(configFile);
        if (bootstrapServers == null && kafka.containsKey("bootstrap.servers")) {
            bootstrapServers = kafka.get("bootstrap.servers");
        }
        boolean embedded = bootstrapServers == null;
        if (!embedded && schemaRegistry == null) {
            throw new picocli.CommandLine.ParameterException(
                    new picocli.CommandLine(this), "--schema-registry is required with --bootstrap-servers");
        }
        EmbeddedStack stack = embedded ? EmbeddedStack.start() : null;
        try {
            String bootstrap = embedded ? stack.bootstrapServers() : bootstrapServers;
            String registry = embedded ? stack.schemaRegistryUrl() : schemaRegistry;
            LocalPipeline pipeline = null;
            if (embedded || startServices) {
                String all = "0-" + (config.numExperts() - 1) + (config.numSharedExperts() > 0 ? ",shared" : "");
                Map<String, String> layerSetting = layer == null ? Map.of() : Map.of(GatewayConfig.MODEL_LAYER, layer);
                pipeline = LocalPipeline.start(
                        model,
                        bootstrap,
                        registry,
                        topicPrefix,
                        List.of(all),
                        layerSetting,
                        layerSetting,
                        new SimpleMeterRegistry());
            }
            try {
                run(lines, bootstrap, registry, kafka);
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
        return 0;
    }

    /** Request lines, or ResponseLine for lines rejected before sending (bad JSON, duplicate id in the file). */
    private List<Object> readInput(int hidden) throws Exception {
        List<Object> lines = new ArrayList<>();
        Map<String, Integer> firstLine = new HashMap<>();
        try (RequestJsonlReader in = RequestJsonlReader.open(input, hidden)) {
            while (true) {
                try {
                    RequestLine line = in.next();
                    if (line == null) {
                        break;
                    }
                    Integer first = firstLine.putIfAbsent(line.id(), lines.size() + 1);
                    if (first != null) {
                        lines.add(ResponseLine.rejected(
                                line.id(),
                                "requestId: duplicate request id '" + line.id() + "' (line " + (lines.size() + 1)
                                        + " repeats line " + first + ")"));
                    } else {
                        lines.add(line);
                    }
                } catch (JsonlException e) {
                    lines.add(
                            ResponseLine.rejected(e.id() == null ? "line-" + e.lineNumber() : e.id(), e.getMessage()));
                }
            }
        }
        return lines;
    }

    private void run(List<Object> lines, String bootstrap, String registry, Map<String, String> kafka)
            throws Exception {
        List<InferenceClient.Input> inputs = new ArrayList<>();
        long tokens = 0;
        for (Object o : lines) {
            if (o instanceof RequestLine r) {
                inputs.add(Conversions.input(r));
                tokens += r.seqLen();
            }
        }
        ProgressBar bar = new ProgressBar(System.err, "infer", inputs.size());
        long t0 = System.nanoTime();
        Map<String, InferenceClient.Answer> answers;
        try (InferenceClient client = new InferenceClient(bootstrap, registry, new Topics(topicPrefix), kafka)) {
            answers = client.run(
                    inputs,
                    Duration.ofSeconds(timeoutSeconds),
                    deadlineSeconds == null ? null : Duration.ofSeconds(deadlineSeconds),
                    bar::update);
        }
        double secs = (System.nanoTime() - t0) / 1e9;
        try (ResponseJsonlWriter out = ResponseJsonlWriter.open(output)) {
            for (Object o : lines) {
                if (o instanceof RequestLine r) {
                    out.write(Conversions.line(answers.get(r.id()).response()));
                } else {
                    out.write((ResponseLine) o);
                }
            }
        }
        System.err.printf(
                "moe infer: %d requests, %d tokens in %.2f s (%.0f tokens/s) -> %s%n",
                inputs.size(), tokens, secs, tokens / secs, output);
    }
}
