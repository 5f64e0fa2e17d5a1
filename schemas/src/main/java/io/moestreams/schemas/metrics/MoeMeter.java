package io.moestreams.schemas.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import java.util.List;
import java.util.function.ToDoubleFunction;

/**
 * The catalogue of every meter the platform publishes: name, kind, tag keys and meaning, in one place (the README's
 * observability table and the Grafana dashboard are checked against it). Tags are bounded: an expert index, a
 * status or an outcome — never a request id.
 */
public enum MoeMeter {
    GATEWAY_REQUESTS(
            "moe.gateway.requests",
            Kind.COUNTER,
            "requests taken in (accepted), rejected as bad input, or already past their deadline (expired)",
            "outcome"),
    GATEWAY_INPUT_LAG(
            "moe.gateway.input.lag",
            Kind.TIMER,
            "request record timestamp (client send) to gateway processing: queueing before the gateway"),
    GATEWAY_TOKENS_DISPATCHED(
            "moe.gateway.tokens.dispatched", Kind.COUNTER, "token choices sent to each expert", "expert"),
    GATEWAY_TOKENS_DROPPED("moe.gateway.tokens.dropped", Kind.COUNTER, "tokens whose every choice overflowed capacity"),
    GATEWAY_INFLIGHT_TOKENS(
            "moe.gateway.inflight.tokens",
            Kind.GAUGE,
            "tokens dispatched to each expert and not yet combined",
            "expert"),
    GATEWAY_THROTTLED("moe.gateway.throttled", Kind.GAUGE, "1 while intake is paused by flow control"),
    GATEWAY_THROTTLE_EVENTS(
            "moe.gateway.throttle.events", Kind.COUNTER, "intake pauses caused by each expert's credit", "expert"),
    GATEWAY_EXPERT_BACKLOG(
            "moe.gateway.expert.backlog",
            Kind.GAUGE,
            "records on each expert's topic its consumer group has not committed (Kafka's consumer lag, as KEDA sees"
                    + " it), at the last flow-control snapshot",
            "expert"),
    GATEWAY_CLUSTER_INFLIGHT(
            "moe.gateway.cluster.inflight.tokens",
            Kind.GAUGE,
            "tokens queued for each expert across all gateway instances, as cluster flow control estimates them",
            "expert"),
    GATEWAY_COMMITS(
            "moe.gateway.commits",
            Kind.COUNTER,
            "answers after which the intake or the combiner asked for a commit at once (eager) or left it to"
                    + " commit.interval.ms because it was working off a backlog (backlog)",
            "stage",
            "mode"),
    LOAD_TOKENS(
            "moe.load.tokens",
            Kind.GAUGE,
            "tokens this gateway routed to each expert in the last closed load window",
            "layer",
            "expert"),
    LOAD_CV2(
            "moe.load.cv2",
            Kind.GAUGE,
            "CV² of the tokens per routed expert in the last closed load window (this gateway)",
            "layer"),
    LOAD_AUX_LOSS(
            "moe.load.aux.loss",
            Kind.GAUGE,
            "Switch load-balancing loss E·Σ f_i·P_i (without α) of the last closed load window (this gateway)",
            "layer"),
    LOAD_DROP_RATE(
            "moe.load.drop.rate",
            Kind.GAUGE,
            "dropped tokens / tokens in the last closed load window (this gateway)",
            "layer"),
    COMBINER_INPUT_LAG(
            "moe.combiner.input.lag",
            Kind.TIMER,
            "record timestamp (gateway dispatch or expert send) to combiner processing, by input"
                    + " (manifest: includes the gateway's commit; result: broker and fetch)",
            "input"),
    COMBINER_RESPONSES("moe.combiner.responses", Kind.COUNTER, "responses emitted, by status", "status"),
    COMBINER_LATENCY("moe.combiner.latency", Kind.TIMER, "request arrival at the gateway to response emission"),
    COMBINER_DUPLICATES(
            "moe.combiner.duplicates", Kind.COUNTER, "expert results or manifests seen more than once and ignored"),
    COMBINER_MALFORMED_RESULTS(
            "moe.combiner.malformed.results",
            Kind.COUNTER,
            "expert results whose shape or positions do not match the manifest; never combined"),
    COMBINER_DEAD_LETTERS(
            "moe.combiner.dead.letters",
            Kind.COUNTER,
            "undecodable manifests or results sent to the dead-letter topic"),
    EXPERT_INPUT_LAG(
            "moe.expert.input.lag",
            Kind.TIMER,
            "dispatch (gateway send) to the expert worker's poll: queueing before the expert",
            "expert"),
    EXPERT_TOKENS("moe.expert.tokens", Kind.COUNTER, "token rows computed by each expert", "expert"),
    EXPERT_BLOCKS("moe.expert.blocks", Kind.COUNTER, "dispatch blocks computed by each expert", "expert"),
    EXPERT_BATCH_TOKENS("moe.expert.batch.tokens", Kind.SUMMARY, "rows per micro-batch", "expert"),
    EXPERT_BATCH_COMPUTE("moe.expert.batch.compute", Kind.TIMER, "FFN time per micro-batch", "expert"),
    EXPERT_DEAD_LETTERS("moe.expert.dead.letters", Kind.COUNTER, "refused dispatch blocks (dead-lettered)", "expert"),
    EXPERT_EXPIRED_BLOCKS(
            "moe.expert.expired.blocks",
            Kind.COUNTER,
            "blocks skipped because their request's deadline had long passed (e.g. backlog after an outage)",
            "expert"),
    EXPERT_REWINDS(
            "moe.expert.rewinds",
            Kind.COUNTER,
            "times a worker went back to its committed offsets (failed send, registry outage)",
            "expert");

    /** How a meter aggregates. */
    public enum Kind {
        COUNTER,
        GAUGE,
        SUMMARY,
        TIMER
    }

    private final String meterName;
    private final Kind kind;
    private final String description;
    private final List<String> tagKeys;

    MoeMeter(String meterName, Kind kind, String description, String... tagKeys) {
        this.meterName = meterName;
        this.kind = kind;
        this.description = description;
        this.tagKeys = List.of(tagKeys);
    }

    public String meterName() {
        return meterName;
    }

    public Kind kind() {
        return kind;
    }

    public String description() {
        return description;
    }

    public List<String> tagKeys() {
        return tagKeys;
    }

    public Counter counter(MeterRegistry registry, String... tagValues) {
        require(Kind.COUNTER);
        return Counter.builder(meterName)
                .description(description)
                .tags(tags(tagValues))
                .register(registry);
    }

    public DistributionSummary summary(MeterRegistry registry, String... tagValues) {
        require(Kind.SUMMARY);
        return DistributionSummary.builder(meterName)
                .description(description)
                .tags(tags(tagValues))
                .publishPercentiles(0.5, 0.99)
                .register(registry);
    }

    public Timer timer(MeterRegistry registry, String... tagValues) {
        require(Kind.TIMER);
        return Timer.builder(meterName)
                .description(description)
                .tags(tags(tagValues))
                .publishPercentiles(0.5, 0.9, 0.99)
                .register(registry);
    }

    public <T> Gauge gauge(MeterRegistry registry, T state, ToDoubleFunction<T> value, String... tagValues) {
        require(Kind.GAUGE);
        return Gauge.builder(meterName, state, value)
                .description(description)
                .tags(tags(tagValues))
                .register(registry);
    }

    private Tags tags(String... values) {
        if (values.length != tagKeys.size()) {
            throw new IllegalArgumentException(
                    meterName + " takes tags " + tagKeys + ", given " + values.length + " value(s)");
        }
        Tags tags = Tags.empty();
        for (int i = 0; i < values.length; i++) {
            tags = tags.and(tagKeys.get(i), values[i]);
        }
        return tags;
    }

    private void require(Kind expected) {
        if (kind != expected) {
            throw new IllegalStateException(meterName + " is a " + kind + ", not a " + expected);
        }
    }
}
