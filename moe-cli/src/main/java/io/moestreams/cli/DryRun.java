package io.moestreams.cli;

import io.moestreams.compute.ffn.Nd4jBackend;
import io.moestreams.core.config.MoeConfig;
import io.moestreams.core.model.ExpertSelection;
import io.moestreams.core.model.MoeModel;
import io.moestreams.expert.ExpertConfig;
import io.moestreams.expert.ExpertService;
import io.moestreams.gateway.GatewayConfig;
import io.moestreams.gateway.TopicProvisioner;
import io.moestreams.schemas.Topics;
import java.io.PrintStream;
import java.util.Arrays;
import java.util.Map;

/**
 * {@code --dry-run} of the service commands: the settings were validated while building the config record; this
 * loads what the service would load (the router, or the served experts' weights), checks the settings against the
 * model, prints a summary and returns without contacting Kafka or the registry.
 */
final class DryRun {

    private DryRun() {}

    static void gateway(GatewayConfig config, PrintStream out) {
        Map<String, Integer> plan;
        MoeConfig model;
        try (MoeModel m = MoeModel.load(config.modelDir(), config.modelLayer(), ExpertSelection.none(), null)) {
            model = m.config();
            plan = TopicProvisioner.plan(
                    config, new Topics(config.topicPrefix()), model.numExperts(), model.numSharedExperts());
        }
        out.printf(
                "moe gateway --dry-run: OK: model %s (%s, %d experts, d=%d), bootstrap %s, registry %s, "
                        + "application %s, %d topics: %s%n",
                config.modelDir(),
                model.format().json(),
                model.numExperts(),
                model.hiddenSize(),
                config.bootstrapServers(),
                config.schemaRegistryUrl(),
                config.applicationId(),
                plan.size(),
                plan);
    }

    static void expert(ExpertConfig config, PrintStream out) {
        ExpertSelection selection = ExpertService.selection(config);
        try (MoeModel m = MoeModel.load(config.modelDir(), config.modelLayer(), selection, Nd4jBackend.INSTANCE)) {
            out.printf(
                    "moe expert --dry-run: OK: model %s (%s, %d experts + %d shared), serving %s and shared %s"
                            + " (weights loaded), worker %s, groups %s<e>, bootstrap %s, registry %s%n",
                    config.modelDir(),
                    m.config().format().json(),
                    m.config().numExperts(),
                    m.config().numSharedExperts(),
                    Arrays.toString(m.loadedExperts()),
                    Arrays.toString(m.loadedSharedExperts()),
                    config.workerId(),
                    config.groupPrefix(),
                    config.bootstrapServers(),
                    config.schemaRegistryUrl());
        }
    }
}
