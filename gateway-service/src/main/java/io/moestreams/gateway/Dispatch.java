package io.moestreams.gateway;

import io.moestreams.avro.DType;
import io.moestreams.avro.DispatchBlock;
import io.moestreams.avro.DispatchManifest;
import io.moestreams.core.routing.Assignment;
import io.moestreams.schemas.ExpertIds;
import io.moestreams.schemas.Tensors;
import java.util.ArrayList;
import java.util.List;

/**
 * What the gateway writes for one accepted request, as a pure function of its rows and routing: one
 * {@link DispatchBlock} per routed expert that received tokens (GShard's dispatch tensor, one row per expert) and
 * one per shared expert (every token, weighted by the shared gate), plus the {@link DispatchManifest} that tells
 * the combiner what to wait for and in which order to add the contributions (docs/architecture.md, "Combining").
 *
 * @param blocks         the blocks, routed experts ascending, then shared experts
 * @param manifest       the manifest
 * @param tokensPerWire  rows sent to each wire id (routed 0..E-1, then shared E..E+S-1), for flow control
 * @param droppedTokens  tokens whose every choice overflowed capacity
 */
record Dispatch(List<DispatchBlock> blocks, DispatchManifest manifest, int[] tokensPerWire, int droppedTokens) {

    /**
     * Plans the records of one request.
     *
     * @param rows       row-major [seqLen, d]
     * @param a          the routing after capacity
     * @param numExperts routed experts E (shared expert j has wire id E + j)
     * @param wireDtype  dtype of the hidden rows in the blocks
     * @param fingerprint the fingerprint of the layer routed with, copied into the manifest (null: unknown)
     */
    static Dispatch plan(
            String id,
            float[] rows,
            int seqLen,
            int d,
            Assignment a,
            int numExperts,
            DType wireDtype,
            long deadlineMs,
            long receivedAtMs,
            String fingerprint) {
        int numShared = a.numShared();
        int[] perWire = new int[numExperts + numShared];
        int[] routed = a.tokensPerExpert(numExperts);
        System.arraycopy(routed, 0, perWire, 0, numExperts);
        List<DispatchBlock> blocks = new ArrayList<>();
        List<Integer> waitFor = new ArrayList<>();
        for (int e = 0; e < numExperts; e++) {
            if (routed[e] > 0) {
                blocks.add(block(id, e, a.positionsFor(e), a.weightsFor(e), rows, seqLen, d, wireDtype, deadlineMs));
                waitFor.add(e);
            }
        }
        List<Integer> shared = new ArrayList<>(numShared);
        int[] all = new int[seqLen];
        for (int t = 0; t < seqLen; t++) {
            all[t] = t;
        }
        for (int j = 0; j < numShared; j++) {
            int wire = ExpertIds.shared(numExperts, j);
            blocks.add(block(id, wire, all, a.sharedWeightsFor(j), rows, seqLen, d, wireDtype, deadlineMs));
            perWire[wire] = seqLen;
            waitFor.add(wire);
            shared.add(wire);
        }
        List<List<Integer>> tokenExperts = new ArrayList<>(seqLen);
        int choices = 0;
        for (int t = 0; t < seqLen; t++) {
            choices += a.experts()[t].length;
        }
        float[] flatWeights = new float[choices];
        int k = 0;
        for (int t = 0; t < seqLen; t++) {
            List<Integer> list = new ArrayList<>(a.experts()[t].length);
            for (int j = 0; j < a.experts()[t].length; j++) {
                list.add(a.experts()[t][j]);
                flatWeights[k++] = a.weights()[t][j];
            }
            tokenExperts.add(list);
        }
        List<Integer> dropped = new ArrayList<>(a.dropped().length);
        for (int p : a.dropped()) {
            dropped.add(p);
        }
        DispatchManifest manifest = DispatchManifest.newBuilder()
                .setRequestId(id)
                .setSeqLen(seqLen)
                .setHiddenSize(d)
                .setDeadlineMs(deadlineMs)
                .setReceivedAtMs(receivedAtMs)
                .setExperts(waitFor)
                .setTokenExperts(tokenExperts)
                .setTokenWeights(Tensors.f32(flatWeights, choices))
                .setDropped(dropped)
                .setSharedExperts(shared)
                .setFingerprint(fingerprint)
                .build();
        return new Dispatch(List.copyOf(blocks), manifest, perWire, dropped.size());
    }

    private static DispatchBlock block(
            String id,
            int wireId,
            int[] positions,
            float[] weights,
            float[] rows,
            int seqLen,
            int d,
            DType wireDtype,
            long deadlineMs) {
        int n = positions.length;
        float[] hidden = new float[n * d];
        List<Integer> posList = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            System.arraycopy(rows, positions[i] * d, hidden, i * d, d);
            posList.add(positions[i]);
        }
        return DispatchBlock.newBuilder()
                .setRequestId(id)
                .setExpert(wireId)
                .setAttempt(0)
                .setSeqLen(seqLen)
                .setPositions(posList)
                .setGateWeights(Tensors.f32(weights, n))
                .setHidden(Tensors.encode(wireDtype, hidden, n, d))
                .setDeadlineMs(deadlineMs)
                .build();
    }

    @Override
    public String toString() {
        return "Dispatch[" + manifest.getRequestId() + ", " + blocks.size() + " blocks]";
    }
}
