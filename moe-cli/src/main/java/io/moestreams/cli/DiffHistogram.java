package io.moestreams.cli;

import java.util.ArrayList;
import java.util.List;

/**
 * Counts of |replayed − recorded| over every compared output value, in decades: exactly 0, (0, 1e-9], (1e-9, 1e-8],
 * …, (0.1, 1], more than 1 (and NaN on one side only).
 */
final class DiffHistogram {

    /** Decades from 1e-9 to 1. */
    static final int FIRST_EXPONENT = -9;

    private final long[] counts = new long[2 + (-FIRST_EXPONENT) + 1];

    /** The bucket of one absolute difference. */
    static int bucket(double absDiff) {
        if (absDiff == 0) {
            return 0;
        }
        if (!(absDiff <= 1)) {
            return (-FIRST_EXPONENT) + 2; // > 1, or NaN
        }
        for (int e = FIRST_EXPONENT; e < 0; e++) {
            if (absDiff <= Math.pow(10, e)) {
                return e - FIRST_EXPONENT + 1;
            }
        }
        return -FIRST_EXPONENT + 1; // (0.1, 1]
    }

    void add(double absDiff) {
        counts[bucket(absDiff)]++;
    }

    long[] counts() {
        return counts.clone();
    }

    long total() {
        long t = 0;
        for (long c : counts) {
            t += c;
        }
        return t;
    }

    /** The label of each bucket. */
    static List<String> labels() {
        List<String> labels = new ArrayList<>();
        labels.add("0");
        labels.add("≤1e" + FIRST_EXPONENT);
        for (int e = FIRST_EXPONENT + 1; e <= 0; e++) {
            labels.add("≤1e" + e);
        }
        labels.add(">1");
        return labels;
    }

    @Override
    public String toString() {
        return "DiffHistogram[" + total() + " values]";
    }
}
