package io.moestreams.cli;

import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * One hop of the Kafka floor in a process of its own, for {@code moe bench --pipeline --processes} (see
 * {@link KafkaFloor}); runs until the process is stopped. Not meant to be run by hand.
 */
@Command(name = "floor-hop", hidden = true, description = "One hop of the bench's Kafka floor (internal).")
final class FloorHopCommand implements Callable<Integer> {

    @Option(names = "--kind", required = true)
    FloorHop.Kind kind;

    @Option(names = "--bootstrap-servers", required = true)
    String bootstrap;

    @Option(names = "--in", required = true)
    String in;

    @Option(names = "--out", required = true)
    String out;

    @Option(names = "--group", required = true)
    String group;

    @Override
    public Integer call() {
        new FloorHop(new FloorHop.Clients(bootstrap, Map.of()), in, out, group).run(kind, () -> true, nanos -> {});
        return 0;
    }
}
