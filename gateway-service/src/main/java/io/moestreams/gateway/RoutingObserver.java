package io.moestreams.gateway;

import io.moestreams.core.routing.Assignment;
import io.moestreams.core.routing.RouterOutput;

/** Told about every accepted request's routing (the expert load record listens); must be cheap and thread-safe. */
@FunctionalInterface
public interface RoutingObserver {

    RoutingObserver NONE = (out, a) -> {};

    /** One sequence routed: the router's decision before capacity and the assignment after it. */
    void routed(RouterOutput out, Assignment a);
}
