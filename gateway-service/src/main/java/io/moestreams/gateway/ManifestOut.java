package io.moestreams.gateway;

import io.moestreams.avro.DispatchManifest;

/**
 * Where the intake sends the manifest of each request it has decided on: into its own transaction (through the
 * topology's manifest sink, visible to the combiner only when the intake commits) or straight to the manifests topic,
 * acknowledged before the intake commits ({@link DirectManifests}, the default). Either way the combiner answers the
 * first manifest of a request and ignores any later one (docs/architecture.md, "Delivery guarantees per hop").
 */
@FunctionalInterface
interface ManifestOut {

    /**
     * Sends the manifest; returns once it is durable when it is sent outside the intake's transaction.
     *
     * @throws org.apache.kafka.streams.errors.StreamsException when it could not be sent: the task fails and the
     *     request is processed again
     */
    void send(String requestId, DispatchManifest manifest, long timestampMs);
}
