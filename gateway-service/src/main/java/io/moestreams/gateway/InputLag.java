package io.moestreams.gateway;

import java.util.Map;
import java.util.OptionalLong;
import java.util.function.Supplier;
import org.apache.kafka.common.Metric;
import org.apache.kafka.common.MetricName;

/**
 * How far the combiner's consumer is behind the end of an input partition, from the Kafka consumer's own
 * {@code records-lag} metric (records between its position and the partition's last stable offset). Unknown until
 * the consumer has fetched the partition at least once. See {@link CatchUp}.
 */
interface InputLag {

    /** Records not yet fetched on {@code topic}-{@code partition}, or empty while unknown. */
    OptionalLong lag(String topic, int partition);

    /** Nothing is known: the combiner relies on record timestamps and the deadline hold alone. */
    InputLag UNKNOWN = (topic, partition) -> OptionalLong.empty();

    /** Reads the lag from the metrics of a Kafka Streams application's main consumers. */
    static InputLag fromMetrics(Supplier<Map<MetricName, ? extends Metric>> metrics) {
        return (topic, partition) -> {
            String p = Integer.toString(partition);
            // older clients tag the topic with '.' replaced by '_'; newer ones register both forms
            String legacy = topic.replace('.', '_');
            for (Map.Entry<MetricName, ? extends Metric> e : metrics.get().entrySet()) {
                MetricName n = e.getKey();
                if (n.name().equals("records-lag")
                        && n.group().equals("consumer-fetch-manager-metrics")
                        && (topic.equals(n.tags().get("topic"))
                                || legacy.equals(n.tags().get("topic")))
                        && p.equals(n.tags().get("partition"))
                        && !n.tags().getOrDefault("client-id", "").endsWith("restore-consumer")) {
                    Object v = e.getValue().metricValue();
                    if (v instanceof Number number && !Double.isNaN(number.doubleValue())) {
                        return OptionalLong.of(Math.max(0, (long) number.doubleValue()));
                    }
                }
            }
            return OptionalLong.empty();
        };
    }
}
