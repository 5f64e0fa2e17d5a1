package io.moestreams.cli;

import io.moestreams.gateway.GatewayApp;
import io.moestreams.gateway.GatewayConfig;
import io.moestreams.schemas.config.LayeredConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.apache.kafka.streams.KafkaStreams;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code moe gateway}: the gating and combiner topologies against any cluster, until Ctrl-C. */
@Command(
        name = "gateway",
        mixinStandardHelpOptions = true,
        description = "Run the gateway (validate, gate, dispatch) and the combiner against a Kafka cluster.")
final class GatewayCommand implements Callable<Integer> {

    @Mixin
    ServiceOptions options = new ServiceOptions();

    @Option(names = "--max-seq-len", description = "Longest accepted sequence in tokens.")
    Integer maxSeqLen;

    @Option(names = "--partitions", description = "Partitions of the topics the platform creates.")
    Integer partitions;

    @Option(
            names = "--expert-partitions",
            paramLabel = "E:N,...",
            description = "Per-expert partition overrides, e.g. 3:8,5:4 (hot experts get more).")
    String expertPartitions;

    @Override
    public Integer call() throws Exception {
        GatewayConfig config = config(options, maxSeqLen, partitions, expertPartitions);
        if (options.dryRun) {
            DryRun.gateway(config, System.out);
            return 0;
        }
        List<AutoCloseable> closeables = new ArrayList<>();
        GatewayApp app = GatewayApp.start(config, options.meters(closeables));
        closeables.add(0, app);
        options.probes(() -> alive(app.intakeState()) && alive(app.combinerState()), () -> ready(app));
        ServiceOptions.runUntilStopped("gateway", closeables, "moe gateway: running; Ctrl-C stops it", app.failed());
        return 0;
    }

    /** The gateway's settings: defaults, --config file, environment, then these options. */
    static GatewayConfig config(
            ServiceOptions options, Integer maxSeqLen, Integer partitions, String expertPartitions) {
        Map<String, String> o = options.overrides();
        ServiceOptions.put(o, GatewayConfig.MAX_SEQ_LEN, maxSeqLen == null ? null : maxSeqLen.toString());
        ServiceOptions.put(o, GatewayConfig.PARTITIONS, partitions == null ? null : partitions.toString());
        ServiceOptions.put(o, GatewayConfig.EXPERT_PARTITIONS, expertPartitions);
        return GatewayConfig.from(LayeredConfig.load(GatewayConfig.defaults(), options.config, System.getenv(), o));
    }

    /** Live unless a Streams application failed for good (a restart is the cure). */
    private static boolean alive(KafkaStreams.State state) {
        return state != KafkaStreams.State.ERROR
                && state != KafkaStreams.State.PENDING_ERROR
                && state != KafkaStreams.State.NOT_RUNNING;
    }

    /** Ready once the router is loaded (start returned) and both Streams applications are RUNNING. */
    private static boolean ready(GatewayApp app) {
        return app.intakeState() == KafkaStreams.State.RUNNING && app.combinerState() == KafkaStreams.State.RUNNING;
    }
}
