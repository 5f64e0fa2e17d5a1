package io.moestreams.cli;

import io.moestreams.compute.bench.CoreBench;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code moe bench}: benchmarks (speed goals live here, never in unit tests). */
@Command(
        name = "bench",
        mixinStandardHelpOptions = true,
        description = "Benchmarks. --core: raw ND4J sgemm rate vs the batched expert FFN at the expert shapes.")
final class BenchCommand implements Callable<Integer> {

    @Option(names = "--core", description = "Run the moe-core benchmark (the default).")
    boolean core = true;

    @Option(names = "--hidden", defaultValue = "1024", description = "d (default ${DEFAULT-VALUE}).")
    int hidden;

    @Option(names = "--ffn", defaultValue = "4096", description = "f (default ${DEFAULT-VALUE}).")
    int ffn;

    @Option(
            names = "--batches",
            split = ",",
            defaultValue = "1,8,32,128,512",
            description = "Batch sizes (default ${DEFAULT-VALUE}).")
    int[] batches;

    @Override
    public Integer call() {
        CoreBench.run(hidden, ffn, batches, System.out);
        return 0;
    }
}
