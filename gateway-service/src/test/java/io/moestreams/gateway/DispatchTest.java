package io.moestreams.gateway;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.moestreams.avro.DType;
import io.moestreams.avro.DispatchBlock;
import io.moestreams.core.routing.Assignment;
import io.moestreams.schemas.Tensors;
import java.util.List;
import org.junit.jupiter.api.Test;

class DispatchTest {

    private static final int D = 2;
    // three tokens: rows (1,2), (3,4), (5,6)
    private static final float[] ROWS = {1, 2, 3, 4, 5, 6};

    @Test
    void routedExpertsGetTheirTokensAndTheSharedExpertGetsEveryTokenWithItsGate() {
        // Given E=4, token 0 -> experts 2,0; token 1 dropped; token 2 -> expert 2; one shared expert with gates
        Assignment a = new Assignment(
                3,
                new int[][] {{2, 0}, {}, {2}},
                new float[][] {{0.7f, 0.3f}, {}, {1f}},
                new int[] {1},
                2,
                new float[][] {{0.9f}, {0.5f}, {0.1f}});

        // When planned
        Dispatch d = Dispatch.plan("r", ROWS, 3, D, a, 4, DType.F32, 1000, 10, null);

        // Then the blocks are expert 0, expert 2, then shared wire id 4 with every row
        List<DispatchBlock> blocks = d.blocks();
        assertEquals(
                List.of(0, 2, 4), blocks.stream().map(DispatchBlock::getExpert).toList());
        assertEquals(List.of(0), blocks.get(0).getPositions());
        assertArrayEquals(new float[] {0.3f}, Tensors.toFloats(blocks.get(0).getGateWeights()));
        assertEquals(List.of(0, 2), blocks.get(1).getPositions());
        assertArrayEquals(
                new float[] {1, 2, 5, 6}, Tensors.toFloats(blocks.get(1).getHidden()));
        assertArrayEquals(new float[] {0.7f, 1f}, Tensors.toFloats(blocks.get(1).getGateWeights()));
        DispatchBlock shared = blocks.get(2);
        assertEquals(List.of(0, 1, 2), shared.getPositions());
        assertArrayEquals(ROWS, Tensors.toFloats(shared.getHidden()));
        assertArrayEquals(new float[] {0.9f, 0.5f, 0.1f}, Tensors.toFloats(shared.getGateWeights()));

        // And the manifest waits for all three, lists the shared one, and keeps the routed choices only
        assertEquals(List.of(0, 2, 4), d.manifest().getExperts());
        assertEquals(List.of(4), d.manifest().getSharedExperts());
        assertEquals(List.of(List.of(2, 0), List.of(), List.of(2)), d.manifest().getTokenExperts());
        assertEquals(List.of(1), d.manifest().getDropped());
        assertArrayEquals(new int[] {1, 0, 2, 0, 3}, d.tokensPerWire());
        assertEquals(1, d.droppedTokens());
    }

    @Test
    void hiddenRowsTravelInTheWireDtype() {
        Assignment a = new Assignment(1, new int[][] {{1}}, new float[][] {{1f}}, new int[0], -1);
        Dispatch d = Dispatch.plan("r", new float[] {1.5f, -2.25f}, 1, D, a, 2, DType.BF16, 1000, 10, null);
        assertEquals(DType.BF16, d.blocks().get(0).getHidden().getDtype());
        assertArrayEquals(
                new float[] {1.5f, -2.25f}, Tensors.toFloats(d.blocks().get(0).getHidden()));
        assertEquals(List.of(), d.manifest().getSharedExperts());
    }

    @Test
    void theManifestCarriesTheLayerFingerprint() {
        // Given the fingerprint of the layer the gateway routed with
        String fingerprint = "sha256:" + "ab".repeat(32);
        Assignment a = new Assignment(1, new int[][] {{1}}, new float[][] {{1f}}, new int[0], -1);
        // When a request is planned
        Dispatch d = Dispatch.plan("r", new float[] {1.5f, -2.25f}, 1, D, a, 2, DType.F32, 1000, 10, fingerprint);
        // Then its manifest names that layer (and a gateway that knows none writes null)
        assertEquals(fingerprint, d.manifest().getFingerprint());
        assertNull(Dispatch.plan("r", new float[] {1.5f, -2.25f}, 1, D, a, 2, DType.F32, 1000, 10, null)
                .manifest()
                .getFingerprint());
    }
}
