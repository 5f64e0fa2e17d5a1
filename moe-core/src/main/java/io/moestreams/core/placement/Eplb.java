package io.moestreams.core.placement;

import java.util.Arrays;
import java.util.Comparator;
import java.util.HashSet;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.IntStream;

/**
 * DeepSeek's expert-parallelism load balancer (EPLB), global policy, re-implemented from the semantics of its
 * reference {@code eplb.py} for comparison with {@link PlacementPlanner}: first {@code replicate_experts} gives the
 * extra physical slots one by one to the expert with the highest load per replica, then {@code balanced_packing}
 * places the physical replicas, heaviest first, each on the least-loaded worker that still has a free slot, so every
 * worker holds exactly {@code slotsPerWorker} replicas.
 *
 * @param replicas    replicas per logical expert
 * @param workerOf    per physical replica (logical experts 0..E-1 first, then the extra replicas in the order they
 *                    were added), the worker it was packed on
 * @param expertOf    per physical replica, its logical expert
 * @param workerLoads load of each worker (sum of its replicas' shares)
 */
public record Eplb(int[] replicas, int[] workerOf, int[] expertOf, double[] workerLoads) {

    /**
     * @param loads          load per logical expert (e.g. tokens/s)
     * @param workers        workers ("GPUs")
     * @param slotsPerWorker physical experts per worker; workers × slots must be at least the number of experts
     */
    public static Eplb place(double[] loads, int workers, int slotsPerWorker) {
        int e = loads.length;
        int physical = workers * slotsPerWorker;
        if (workers < 1 || slotsPerWorker < 1 || physical < e) {
            throw new IllegalArgumentException(
                    "EPLB needs workers x slots >= experts: " + workers + " x " + slotsPerWorker + " < " + e);
        }
        // replicate_experts: each extra slot to argmax(load / count), the first index on ties (torch.max)
        int[] count = new int[e];
        Arrays.fill(count, 1);
        int[] expertOf = new int[physical];
        for (int i = 0; i < e; i++) {
            expertOf[i] = i;
        }
        for (int i = e; i < physical; i++) {
            int best = 0;
            for (int x = 1; x < e; x++) {
                if (loads[x] / count[x] > loads[best] / count[best]) {
                    best = x;
                }
            }
            expertOf[i] = best;
            count[best]++;
        }
        // balanced_packing: heaviest replica first, onto the least-loaded worker with a free slot (lowest index on
        // ties)
        double[] weight = new double[physical];
        for (int i = 0; i < physical; i++) {
            weight[i] = loads[expertOf[i]] / count[expertOf[i]];
        }
        Integer[] order = IntStream.range(0, physical).boxed().toArray(Integer[]::new);
        Arrays.sort(order, Comparator.comparingDouble((Integer i) -> -weight[i]));
        double[] workerLoads = new double[workers];
        int[] items = new int[workers];
        int[] workerOf = new int[physical];
        for (int i : order) {
            int pack = -1;
            for (int w = 0; w < workers; w++) {
                if (items[w] < slotsPerWorker && (pack < 0 || workerLoads[w] < workerLoads[pack])) {
                    pack = w;
                }
            }
            workerOf[i] = pack;
            workerLoads[pack] += weight[i];
            items[pack]++;
        }
        return new Eplb(count, workerOf, expertOf, workerLoads);
    }

    /** The most loaded worker's load. */
    public double maxWorkerLoad() {
        return Arrays.stream(workerLoads).max().orElse(0);
    }

    /** Expert copies loaded in all (every slot holds one). */
    public int copies() {
        return workerOf.length;
    }

    /** Workers that hold the same set of experts could share a Deployment; EPLB's sets differ in general. */
    public int distinctWorkerSets() {
        Set<Set<Integer>> sets = new HashSet<>();
        for (int w = 0; w < workerLoads.length; w++) {
            Set<Integer> s = new TreeSet<>();
            for (int i = 0; i < workerOf.length; i++) {
                if (workerOf[i] == w) {
                    s.add(expertOf[i]);
                }
            }
            sets.add(s);
        }
        return sets.size();
    }
}
