package io.moestreams.cli;

import io.moestreams.expert.ExpertConfig;
import io.moestreams.expert.ExpertService;
import io.moestreams.schemas.config.LayeredConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code moe expert --experts 0,3}: expert workers against any cluster, until Ctrl-C. */
@Command(
        name = "expert",
        mixinStandardHelpOptions = true,
        description = "Serve some experts: join each one's consumer group, load only their weights, run batched FFNs.")
final class ExpertCommand implements Callable<Integer> {

    @Mixin
    ServiceOptions options = new ServiceOptions();

    @Option(names = "--experts", paramLabel = "IDS", description = "Experts to serve: 3, 0,1,5 or 0-7.")
    String experts;

    @Option(names = "--max-batch-tokens", description = "Close a micro-batch at this many tokens (default 512).")
    Integer maxBatchTokens;

    @Option(names = "--max-batch-wait-ms", description = "...or this long after its first block (default 5).")
    Long maxBatchWaitMs;

    @Option(
            names = "--worker-id",
            description = "Name of this worker in results and transactional ids; give it a stable identity (the pod "
                    + "or container name) so a restarted worker fences its predecessor.")
    String workerId;

    @Override
    public Integer call() throws Exception {
        Map<String, String> o = options.overrides();
        ServiceOptions.put(o, ExpertConfig.EXPERTS, experts);
        ServiceOptions.put(o, ExpertConfig.MAX_BATCH_TOKENS, maxBatchTokens == null ? null : maxBatchTokens.toString());
        ServiceOptions.put(
                o, ExpertConfig.MAX_BATCH_WAIT_MS, maxBatchWaitMs == null ? null : maxBatchWaitMs.toString());
        ServiceOptions.put(o, ExpertConfig.WORKER_ID, workerId);
        ExpertConfig config =
                ExpertConfig.from(LayeredConfig.load(ExpertConfig.defaults(), options.config, System.getenv(), o));
        if (options.dryRun) {
            DryRun.expert(config, System.out);
            return 0;
        }
        List<AutoCloseable> closeables = new ArrayList<>();
        ExpertService service = ExpertService.start(config, options.meters(closeables));
        closeables.add(0, service);
        // Ready once the weights are loaded (start returned) and every worker has joined its expert's group (a
        // replica beyond the partition count owns none and is still ready: it takes over when a peer leaves).
        options.probes(() -> service.alive() && service.failure() == null, service::ready);
        ServiceOptions.runUntilStopped(
                "expert",
                closeables,
                "moe expert: serving " + config.experts() + "; Ctrl-C stops it",
                service.failed());
        return 0;
    }
}
