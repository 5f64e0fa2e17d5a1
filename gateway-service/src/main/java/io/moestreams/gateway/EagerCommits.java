package io.moestreams.gateway;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.moestreams.schemas.metrics.MoeMeter;
import org.apache.kafka.streams.processor.api.ProcessorContext;

/**
 * When a stage of the gateway (intake or combiner) commits after an answer: at the end of this Streams loop iteration
 * while it is caught up, otherwise with the next {@code commit.interval.ms} (docs/architecture.md, "Delivery
 * guarantees per hop"). Each decision is counted in {@code moe.gateway.commits{stage,mode}}.
 */
final class EagerCommits {

    private final GatewayConfig config;
    private final Counter eager;
    private final Counter backlog;

    EagerCommits(GatewayConfig config, MeterRegistry meters, String stage) {
        this.config = config;
        this.eager = MoeMeter.GATEWAY_COMMITS.counter(meters, stage, "eager");
        this.backlog = MoeMeter.GATEWAY_COMMITS.counter(meters, stage, "backlog");
    }

    /** An answer was given for a record that waited {@code lagMs} before it was processed. */
    void answered(ProcessorContext<?, ?> context, long lagMs) {
        if (config.commitEagerly(lagMs)) {
            context.commit();
            eager.increment();
        } else if (config.eagerCommit()) {
            backlog.increment();
        }
    }
}
