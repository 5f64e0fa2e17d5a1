package io.moestreams.core.gen;

import io.moestreams.core.jsonl.RequestJsonlWriter;
import java.io.IOException;
import java.nio.file.Path;
import java.util.SplittableRandom;

/**
 * Writes a request JSONL file: ids {@code r0 .. r<count-1>}, sequence lengths uniform in [minLen, maxLen],
 * values ~ N(0, 1), reproducible from the seed.
 */
public final class RequestGenerator {

    private RequestGenerator() {}

    public static void generate(Path out, int count, int hidden, int minLen, int maxLen, long seed) throws IOException {
        if (count < 0) {
            throw new IllegalArgumentException("count: expected >= 0, found " + count);
        }
        if (hidden < 1) {
            throw new IllegalArgumentException("hidden: expected >= 1, found " + hidden);
        }
        if (minLen < 1 || maxLen < minLen) {
            throw new IllegalArgumentException(
                    "sequence length: expected 1 <= minLen <= maxLen, found " + minLen + ".." + maxLen);
        }
        SplittableRandom random = new SplittableRandom(seed);
        try (RequestJsonlWriter writer = RequestJsonlWriter.open(out)) {
            for (int i = 0; i < count; i++) {
                int len = minLen + random.nextInt(maxLen - minLen + 1);
                float[] tokens = new float[len * hidden];
                for (int k = 0; k < tokens.length; k++) {
                    tokens[k] = (float) random.nextGaussian();
                }
                writer.write("r" + i, tokens, len, hidden);
            }
        }
    }
}
