package io.moestreams.cli;

import io.moestreams.core.gen.RequestGenerator;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code moe generate-requests}: random request JSONL. */
@Command(
        name = "generate-requests",
        mixinStandardHelpOptions = true,
        description = "Write random requests as JSONL: {\"id\": \"r0\", \"tokens\": [[...], ...]} per line.")
final class GenerateRequestsCommand implements Callable<Integer> {

    @Option(names = "--out", required = true, paramLabel = "FILE", description = "Output JSONL file.")
    Path out;

    @Option(names = "--count", defaultValue = "100", description = "Number of requests (default ${DEFAULT-VALUE}).")
    int count;

    @Option(names = "--hidden", required = true, description = "Hidden size d of the model.")
    int hidden;

    @Option(names = "--min-len", defaultValue = "1", description = "Shortest sequence (default ${DEFAULT-VALUE}).")
    int minLen;

    @Option(names = "--max-len", defaultValue = "32", description = "Longest sequence (default ${DEFAULT-VALUE}).")
    int maxLen;

    @Option(names = "--seed", defaultValue = "7", description = "Random seed (default ${DEFAULT-VALUE}).")
    long seed;

    @Override
    public Integer call() throws Exception {
        RequestGenerator.generate(out, count, hidden, minLen, maxLen, seed);
        System.err.printf("moe generate-requests: wrote %d requests to %s%n", count, out);
        return 0;
    }
}
