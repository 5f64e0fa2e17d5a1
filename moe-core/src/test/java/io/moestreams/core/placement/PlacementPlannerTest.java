package io.moestreams.core.placement;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

class PlacementPlannerTest {

    /**
     * The best bottleneck over every way to split the experts into groups of at most {@code m}, each grouping with
     * its best replica counts (spare replicas one at a time to the group with the highest load per replica: optimal
     * for min-max of load / replicas).
     */
    private static double bruteForce(double[] loads, int workers, int m) {
        double[] best = {Double.POSITIVE_INFINITY};
        partitions(0, loads.length, new ArrayList<>(), groups -> {
            if (groups.size() > workers || groups.stream().anyMatch(g -> g.size() > m)) {
                return;
            }
            double[] l = new double[groups.size()];
            int[] n = new int[groups.size()];
            for (int i = 0; i < l.length; i++) {
                for (int x : groups.get(i)) {
                    l[i] += loads[x];
                }
                n[i] = 1;
            }
            for (int spare = workers - groups.size(); spare > 0; spare--) {
                int hot = 0;
                for (int i = 1; i < l.length; i++) {
                    if (l[i] / n[i] > l[hot] / n[hot]) {
                        hot = i;
                    }
                }
                n[hot]++;
            }
            double worst = 0;
            for (int i = 0; i < l.length; i++) {
                worst = Math.max(worst, l[i] / n[i]);
            }
            best[0] = Math.min(best[0], worst);
        });
        return best[0];
    }

    private static void partitions(int next, int e, List<List<Integer>> groups, Consumer<List<List<Integer>>> visit) {
        if (next == e) {
            visit.accept(groups);
            return;
        }
        int existing = groups.size();
        for (int i = 0; i < existing; i++) {
            groups.get(i).add(next);
            partitions(next + 1, e, groups, visit);
            groups.get(i).remove(groups.get(i).size() - 1);
        }
        List<Integer> fresh = new ArrayList<>(List.of(next));
        groups.add(fresh);
        partitions(next + 1, e, groups, visit);
        groups.remove(groups.size() - 1);
    }

    private static void assertValid(PlacementPlanner.Plan plan, int e, int workers, int m, int minPartitions) {
        Set<Integer> seen = new HashSet<>();
        for (PlacementPlanner.Group g : plan.groups()) {
            assertTrue(g.experts().size() <= m, "group too large: " + g);
            for (int x : g.experts()) {
                assertTrue(seen.add(x), "expert " + x + " in two groups");
                assertEquals(0, plan.partitions()[x] % g.replicas(), "partitions of " + x + " not a multiple");
                assertTrue(plan.partitions()[x] >= minPartitions);
            }
        }
        assertEquals(e, seen.size());
        assertTrue(plan.workers() <= workers);
    }

    @Test
    void theHotExpertsGroupGetsTheMostReplicasAndTheBottleneckIsNearTheOptimum() {
        // Given expert 0 with half of the load of 8 experts, 6 workers holding at most 4 experts each
        double[] loads = {700, 100, 100, 100, 100, 100, 100, 100};

        // When planned
        PlacementPlanner.Plan plan = PlacementPlanner.plan(loads, 6, 4, 2);

        // Then the hot expert's group has the most replicas, and the bottleneck is within 5% of the best any
        // grouping reaches (the planner is a heuristic)
        assertValid(plan, 8, 6, 4, 2);
        PlacementPlanner.Group hot = plan.groupOf(0);
        for (PlacementPlanner.Group g : plan.groups()) {
            assertTrue(hot.replicas() >= g.replicas(), plan.toString());
        }
        double optimum = bruteForce(loads, 6, 4);
        assertTrue(plan.maxWorkerLoad() <= 1.05 * optimum, plan.maxWorkerLoad() + " vs " + optimum);
    }

    @Test
    void onSmallRandomLoadsTheBottleneckIsCloseToTheOptimum() {
        // Given random skewed loads of up to 6 experts and budgets of up to 6 workers
        Random random = new Random(11);
        double worstRatio = 1;
        double sumRatio = 0;
        int cases = 0;
        for (int round = 0; round < 150; round++) {
            int e = 2 + random.nextInt(5);
            int m = 1 + random.nextInt(e);
            int needed = (e + m - 1) / m;
            int workers = needed + random.nextInt(4);
            double[] loads = new double[e];
            for (int x = 0; x < e; x++) {
                loads[x] = Math.floor(Math.pow(random.nextDouble(), 3) * 1000);
            }

            // When planned and compared with the exhaustive optimum
            PlacementPlanner.Plan plan = PlacementPlanner.plan(loads, workers, m, 1);
            double optimum = bruteForce(loads, workers, m);

            // Then the plan is valid and never better than the optimum (a check of the brute force), rarely worse
            assertValid(plan, e, workers, m, 1);
            assertTrue(plan.maxWorkerLoad() >= optimum - 1e-9, "better than the optimum?");
            double ratio = optimum == 0 ? 1 : plan.maxWorkerLoad() / optimum;
            worstRatio = Math.max(worstRatio, ratio);
            sumRatio += ratio;
            cases++;
        }
        System.out.printf("PlacementPlanner vs optimum: mean ratio %.4f, worst %.4f%n", sumRatio / cases, worstRatio);
        assertTrue(sumRatio / cases < 1.01, "mean ratio " + sumRatio / cases);
        assertTrue(worstRatio < 1.1, "worst ratio " + worstRatio);
    }

    @Test
    void partitionsAreMultiplesOfTheReplicasAndAtLeastTheMinimum() {
        // Given a hot expert that needs 3 replicas / When planned with at least 4 partitions per topic
        PlacementPlanner.Plan plan = PlacementPlanner.plan(new double[] {300, 10, 10}, 4, 2, 4);

        // Then its topic gets 6 partitions (2 per replica) and the others 4
        assertEquals(3, plan.groupOf(0).replicas());
        assertArrayEquals(new int[] {6, 4, 4}, plan.partitions());
    }

    @Test
    void aBudgetTooSmallForTheMemoryBoundIsRefusedNamingBoth() {
        // Given 8 experts, at most 2 per worker, 3 workers / When planned / Then refused with the numbers
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> PlacementPlanner.plan(new double[8], 3, 2, 1));
        assertTrue(e.getMessage().contains("at least 4 workers"), e.getMessage());
    }

    @Test
    void eplbReplicatesTheHeaviestAndPacksEqualSlotCounts() {
        // Given loads 90, 30, 20, 10 on 2 workers with 3 slots each (worked by hand from eplb.py's semantics:
        // extra slots to expert 0 twice -> replicas of weight 30, 30, 30, 30, 20, 10; packed heaviest first onto
        // the lighter worker with a free slot: {30, 30, 20} and {30, 30, 10})
        Eplb eplb = Eplb.place(new double[] {90, 30, 20, 10}, 2, 3);

        // Then
        assertArrayEquals(new int[] {3, 1, 1, 1}, eplb.replicas());
        assertArrayEquals(new double[] {80, 70}, eplb.workerLoads(), 1e-12);
        assertEquals(6, eplb.copies());
    }
}
