package io.moestreams.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

class CpuPinningTest {

    @Test
    void kernelCpuListsAreExpanded() {
        assertEquals(List.of(0, 1, 2, 3, 8, 10, 11), CpuPinning.parseList("0-3,8,10-11"));
        assertEquals(List.of(5), CpuPinning.parseList("5"));
    }

    @Test
    void workersWithoutLoadGoRoundRobin() {
        // Given two unloaded workers and CPUs 0 and 1 / Then one on each
        assertArrayEquals(new int[] {0, 1}, CpuPinning.assign(new double[] {0, 0}, List.of(0, 1)));
    }

    @Test
    void heaviestFirstEachOnTheLeastLoadedCpu() {
        // Given a plan's workers: two hot replicas of 0.24, groups of 0.30 and 0.22, on CPUs 2 and 3
        int[] cpus = CpuPinning.assign(new double[] {0.24, 0.24, 0.30, 0.22}, List.of(2, 3));

        // Then (worked by hand) 0.30 -> 2; 0.24 -> 3; 0.24 -> 3 (0.24 < 0.30); 0.22 -> 2 (0.30 < 0.48)
        assertArrayEquals(new int[] {3, 3, 2, 2}, cpus);
    }
}
