package io.moestreams.core.hf;

import io.moestreams.core.routing.Router;

/** Builds a layer's router from its router-side tensors only (what the gateway loads). */
@FunctionalInterface
public interface RouterLoader {
    Router load(WeightReader reader);
}
