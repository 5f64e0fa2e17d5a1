package io.moestreams.core.jsonl;

import java.util.Arrays;

/** Growable float array. */
final class FloatList {
    private float[] data = new float[64];
    private int size;

    void add(float v) {
        if (size == data.length) {
            data = Arrays.copyOf(data, size * 2);
        }
        data[size++] = v;
    }

    int size() {
        return size;
    }

    float[] toArray() {
        return Arrays.copyOf(data, size);
    }
}
