package io.moestreams.cli;

import io.moestreams.avro.CassetteEntry;
import io.moestreams.compute.ffn.Nd4jBackend;
import io.moestreams.core.config.MoeConfig;
import io.moestreams.core.jsonl.ResponseLine;
import io.moestreams.core.model.ExpertSelection;
import io.moestreams.core.model.LayerFingerprint;
import io.moestreams.core.model.MoeModel;
import io.moestreams.core.reference.ReferenceMoeLayer;
import io.moestreams.replay.ReplayReport;
import io.moestreams.replay.Replayer;
import io.moestreams.replay.RequestDiff;
import io.moestreams.schemas.Topics;
import io.moestreams.schemas.cassette.CassetteReader;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code moe replay}: re-runs recorded requests against a model and reports how the answers differ. */
@Command(
        name = "replay",
        mixinStandardHelpOptions = true,
        description = {
            "Re-run recorded requests in-process against --model [--layer] and compare every answer with its "
                    + "recording: bit-identical or not, max abs/rel difference, tokens whose output differs, "
                    + "tokens whose expert set changed, "
                    + "dropped positions that changed. Prints the requests that differ and a summary line; "
                    + "--json and --html write reports (the HTML one with a histogram of the differences and the "
                    + "per-expert load recorded vs replayed).",
            "Exit status 0 only when every compared request is within --tolerance (default 0: bit-identical) with "
                    + "unchanged routing; 1 otherwise. Requests recorded without an OK response are skipped "
                    + "(counted, not failed).",
            "The source is a cassette (moe record) or, with --from-topic, the topics themselves (the selection "
                    + "options of moe record apply). --shadow-prefix replays through a running deployment instead."
        })
final class ReplayCommand implements Callable<Integer> {

    static final class Source {
        @Option(names = "--cassette", paramLabel = "FILE", description = "Cassette written by moe record.")
        Path cassette;

        @Option(
                names = "--from-topic",
                description = "Replay straight from the requests and responses retained on the topics "
                        + "(--bootstrap-servers, --schema-registry and the selection options), without a cassette.")
        boolean fromTopic;
    }

    @ArgGroup(exclusive = true, multiplicity = "1")
    Source source;

    @Mixin
    TopicSelection topics;

    @Option(
            names = "--model",
            required = true,
            paramLabel = "DIR",
            description = "Model to replay against: a moe.json directory or a Hugging Face checkpoint directory.")
    Path model;

    @Option(
            names = "--layer",
            paramLabel = "L",
            description = "MoE layer of a Hugging Face checkpoint: decoder layer index, or encoder.B / decoder.B.")
    String layer;

    @Option(
            names = "--forced-routing",
            description = "Use the recorded experts and gate weights of every token and k-slot (and the recorded "
                    + "dropped positions) instead of recomputing the routing: compares the experts alone.")
    boolean forcedRouting;

    @Option(
            names = "--tolerance",
            defaultValue = "0",
            paramLabel = "T",
            description = "Largest |replayed - recorded| allowed per output value (default ${DEFAULT-VALUE}: "
                    + "bit-identical).")
    double tolerance;

    @Option(
            names = "--shadow-prefix",
            paramLabel = "P",
            description = "Replay through a deployment serving under topic prefix P (a shadow) instead of in-process: "
                    + "the requests go to P's requests topic on --bootstrap-servers and its responses are compared. "
                    + "Without --bootstrap-servers the embedded stack and services run for the replay. Use a fresh "
                    + "prefix per replay: a gateway refuses request ids it has already served.")
    String shadowPrefix;

    @Option(
            names = "--start-services",
            description = "With --shadow-prefix and --bootstrap-servers: run the gateway and all experts of --model "
                    + "in this process, under the shadow prefix.")
    boolean startServices;

    @Option(names = "--json", paramLabel = "FILE", description = "Write the JSON report (every request) to FILE.")
    Path json;

    @Option(
            names = "--html",
            paramLabel = "FILE",
            description = "Write the self-contained HTML report (summary, plots, requests that differ) to FILE.")
    Path html;

    @Option(
            names = "--show",
            defaultValue = "20",
            paramLabel = "N",
            description = "Print at most N requests that differ, failed or were skipped (default ${DEFAULT-VALUE}).")
    int show;

    @Override
    public Integer call() throws Exception {
        if (!(tolerance >= 0) || Double.isInfinite(tolerance)) {
            throw new CommandLine.ParameterException(
                    new CommandLine(this), "--tolerance: expected a finite value >= 0, found " + tolerance);
        }
        if (shadowPrefix != null && forcedRouting) {
            throw new CommandLine.ParameterException(
                    new CommandLine(this), "--forced-routing: a shadow deployment routes by itself (in-process only)");
        }
        long t0 = System.nanoTime();
        String fingerprint = LayerFingerprint.of(model, layer);
        ReplayReport report;
        if (shadowPrefix != null) {
            MoeConfig config = MoeModel.readConfig(model, layer);
            report = newReport(fingerprint, config.numExperts());
            List<CassetteEntry> entries = source.fromTopic ? fromTopics() : readCassette();
            Map<String, String> kafka = topics.kafka();
            String bootstrap = topics.bootstrapServers != null || kafka.containsKey("bootstrap.servers")
                    ? topics.bootstrap(kafka)
                    : null;
            ShadowReplay.Target target = new ShadowReplay.Target(
                    bootstrap, bootstrap == null ? null : topics.registry(), kafka, shadowPrefix, startServices);
            Map<String, ResponseLine> answers = ShadowReplay.answers(
                    entries, model, layer, config, target, Duration.ofSeconds(topics.timeoutSeconds));
            replayAll(new Replayer(ShadowReplay.engine(answers), tolerance, report), entries);
        } else {
            try (MoeModel m = MoeModel.load(model, layer, ExpertSelection.all(), Nd4jBackend.INSTANCE)) {
                report = newReport(fingerprint, m.config().numExperts());
                Replayer replayer =
                        new Replayer(Replayer.inProcess(new ReferenceMoeLayer(m), forcedRouting), tolerance, report);
                if (source.fromTopic) {
                    replayAll(replayer, fromTopics());
                } else {
                    long count = CassetteReader.count(source.cassette);
                    try (CassetteReader in = CassetteReader.open(source.cassette)) {
                        replayAll(replayer, in, (int) Math.min(count, Integer.MAX_VALUE));
                    }
                }
            }
        }
        int notShown = 0;
        int shown = 0;
        for (RequestDiff d : report.diffs()) {
            String line = ReplayReport.line(d);
            if (line != null && shown++ < show) {
                System.out.println(line);
            } else if (line != null) {
                notShown++;
            }
        }
        if (notShown > 0) {
            System.out.println("... and " + notShown + " more (--show N, or the --json report)");
        }
        if (json != null) {
            report.writeJson(json);
        }
        if (html != null) {
            ReplayHtml.write(report, html);
        }
        System.out.println("layer: " + report.fingerprintVerdict());
        System.out.println(report.summaryLine());
        System.err.printf("moe replay: %.1f s%n", (System.nanoTime() - t0) / 1e9);
        return report.passed() ? 0 : 1;
    }

    private ReplayReport newReport(String fingerprint, int numExperts) {
        String against = shadowPrefix == null ? "in-process" : "shadow deployment under prefix " + shadowPrefix;
        return new ReplayReport(
                new ReplayReport.Setup(
                        describeSource(), model + " (" + against + ")", layer, forcedRouting, tolerance, fingerprint),
                numExperts);
    }

    private static void replayAll(Replayer replayer, List<CassetteEntry> entries) {
        replayAll(replayer, entries, entries.size());
    }

    private static void replayAll(Replayer replayer, Iterable<CassetteEntry> entries, int total) {
        ProgressBar bar = new ProgressBar(System.err, "replay", total);
        int done = 0;
        for (CassetteEntry e : entries) {
            replayer.replay(e);
            bar.update(++done);
        }
        if (done == 0) {
            bar.update(0);
        }
    }

    private List<CassetteEntry> readCassette() throws IOException {
        List<CassetteEntry> entries = new ArrayList<>();
        try (CassetteReader in = CassetteReader.open(source.cassette)) {
            in.forEach(entries::add);
        }
        return entries;
    }

    private String describeSource() {
        return source.fromTopic
                ? "topics " + topics.topicPrefix + "* (" + topics.selection().describe() + ")"
                : source.cassette.toString();
    }

    private List<CassetteEntry> fromTopics() {
        Map<String, String> kafka = topics.kafka();
        List<CassetteEntry> entries = new ArrayList<>();
        try (TopicRecorder recorder =
                new TopicRecorder(topics.bootstrap(kafka), topics.registry(), new Topics(topics.topicPrefix), kafka)) {
            ProgressBar[] bar = {null};
            recorder.record(
                    topics.selection(), Duration.ofSeconds(topics.timeoutSeconds), entries::add, (done, total) -> {
                        if (bar[0] == null) {
                            bar[0] = new ProgressBar(System.err, "read", (int) Math.min(total, Integer.MAX_VALUE));
                        }
                        bar[0].update((int) Math.min(done, Integer.MAX_VALUE));
                    });
        }
        return entries;
    }
}
