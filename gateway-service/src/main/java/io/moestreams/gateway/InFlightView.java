package io.moestreams.gateway;

/**
 * Tokens in flight per dispatch target (wire id), as one flow-control policy sees them: {@link InFlightLedger}
 * (exact, this process only) or {@link ClusterInFlight} (every gateway instance, from Kafka's offsets).
 */
public interface InFlightView {

    /** Dispatch targets: routed experts, then shared ones (wire ids). */
    int numExperts();

    /** Tokens of target {@code expert} that count against its credit. */
    long inFlight(int expert);
}
