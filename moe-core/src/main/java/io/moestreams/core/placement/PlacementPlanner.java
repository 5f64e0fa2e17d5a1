package io.moestreams.core.placement;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.IntStream;

/**
 * Plans expert groups for a worker budget: which experts share a worker process, how many identical replicas each
 * group gets, and how many partitions each expert topic needs, so that the most loaded worker carries as little as
 * possible. Groups map onto deployments whose replicas are identical (a Kubernetes Deployment, a compose service):
 * every replica of a group joins the consumer group of each of its experts and gets an equal share of each, so a
 * worker of group g carries {@code load(g) / replicas(g)}.
 *
 * <p>Algorithm (bisection on the bottleneck with first-fit-decreasing groups):
 *
 * <ol>
 *   <li>For a candidate bottleneck T, take the experts by load, heaviest first. An expert heavier than T gets a group
 *       of its own with {@code ceil(load / T)} replicas. Any other expert joins the first group that has fewer than
 *       {@code maxExpertsPerWorker} experts and whose replicas still have room ({@code load + l <= replicas · T}),
 *       else opens a new group with one replica. T is feasible when the groups need at most {@code workers}
 *       replicas.
 *   <li>Bisect T between total/workers (no plan does better) and the total load (always feasible), keeping the
 *       feasible grouping with the smallest actual bottleneck.
 *   <li>Spend the workers left over one at a time on the group with the highest load per replica (the step EPLB
 *       uses to replicate experts; for a fixed grouping it gives the best replica counts).
 *   <li>Improve the grouping locally: move one expert to another group (or a group of its own), or merge two groups,
 *       whenever that, with the replica counts of step 3 recomputed, lowers the bottleneck; repeat until no move
 *       does.
 *   <li>Give each expert a partition count that is a multiple of its group's replicas (equal shares) and at least
 *       {@code minPartitions}.
 * </ol>
 */
public final class PlacementPlanner {

    /** One deployable group: its experts, replicas and load (same unit as the input loads). */
    public record Group(Set<Integer> experts, int replicas, double load) {

        public Group {
            experts = Set.copyOf(new TreeSet<>(experts));
        }

        /** What each replica carries. */
        public double loadPerReplica() {
            return load / replicas;
        }

        /** The experts in ascending order. */
        public List<Integer> sortedExperts() {
            return experts.stream().sorted().toList();
        }
    }

    /**
     * A plan.
     *
     * @param groups     heaviest per replica first
     * @param partitions per expert, the partitions of its topic
     */
    public record Plan(List<Group> groups, int[] partitions) {

        /** The most loaded worker's load. */
        public double maxWorkerLoad() {
            return groups.stream().mapToDouble(Group::loadPerReplica).max().orElse(0);
        }

        /** Workers (replicas) used. */
        public int workers() {
            return groups.stream().mapToInt(Group::replicas).sum();
        }

        /** Expert copies loaded across all workers. */
        public int copies() {
            return groups.stream()
                    .mapToInt(g -> g.replicas() * g.experts().size())
                    .sum();
        }

        /** The group expert {@code e} is in. */
        public Group groupOf(int e) {
            return groups.stream()
                    .filter(g -> g.experts().contains(e))
                    .findFirst()
                    .orElseThrow();
        }
    }

    private PlacementPlanner() {}

    /**
     * @param loads               load per expert (tokens/s or tokens in a window), >= 0
     * @param workers             worker budget: replicas across all groups
     * @param maxExpertsPerWorker most experts one worker may hold (its memory)
     * @param minPartitions       fewest partitions of an expert topic
     */
    public static Plan plan(double[] loads, int workers, int maxExpertsPerWorker, int minPartitions) {
        int e = loads.length;
        if (e < 1) {
            throw new IllegalArgumentException("loads: expected at least one expert");
        }
        for (int x = 0; x < e; x++) {
            if (!(loads[x] >= 0) || Double.isInfinite(loads[x])) {
                throw new IllegalArgumentException("loads[" + x + "]: expected a finite load >= 0, found " + loads[x]);
            }
        }
        if (maxExpertsPerWorker < 1 || minPartitions < 1) {
            throw new IllegalArgumentException("maxExpertsPerWorker and minPartitions must be >= 1");
        }
        int needed = (e + maxExpertsPerWorker - 1) / maxExpertsPerWorker;
        if (workers < needed) {
            throw new IllegalArgumentException("workers: " + e + " experts at most " + maxExpertsPerWorker
                    + " per worker need at least " + needed + " workers, the budget is " + workers);
        }
        double total = Arrays.stream(loads).sum();
        List<Group> best = feasible(loads, Math.max(total, Double.MIN_NORMAL), workers, maxExpertsPerWorker);
        if (best == null) {
            throw new IllegalStateException("no grouping fits " + workers + " workers"); // cannot happen: see needed
        }
        double lo = total / workers;
        double hi = bottleneck(best);
        for (int i = 0; i < 60 && hi - lo > 1e-9 * Math.max(1, hi); i++) {
            double mid = (lo + hi) / 2;
            List<Group> g = feasible(loads, mid, workers, maxExpertsPerWorker);
            if (g == null) {
                lo = mid;
            } else {
                if (bottleneck(g) <= bottleneck(best)) {
                    best = g;
                }
                hi = Math.min(mid, bottleneck(g));
            }
        }
        List<Group> groups = improve(loads, allocate(best, workers), workers, maxExpertsPerWorker);
        groups.sort(Comparator.comparingDouble(Group::loadPerReplica)
                .reversed()
                .thenComparing(g -> g.sortedExperts().get(0)));
        int[] partitions = new int[e];
        for (Group g : groups) {
            int p = g.replicas() * ((minPartitions + g.replicas() - 1) / g.replicas());
            for (int x : g.experts()) {
                partitions[x] = p;
            }
        }
        return new Plan(List.copyOf(groups), partitions);
    }

    /** Best replica counts for fixed groups: one replica each, then each spare to the highest load per replica. */
    static List<Group> allocate(List<Group> groups, int workers) {
        int n = groups.size();
        double[] load = new double[n];
        int[] replicas = new int[n];
        for (int i = 0; i < n; i++) {
            load[i] = groups.get(i).load();
            replicas[i] = 1;
        }
        for (int spare = workers - n; spare > 0; spare--) {
            int hot = 0;
            for (int i = 1; i < n; i++) {
                if (load[i] / replicas[i] > load[hot] / replicas[hot]) {
                    hot = i;
                }
            }
            if (load[hot] == 0) {
                break; // nothing to share: keep the spare workers
            }
            replicas[hot]++;
        }
        List<Group> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            out.add(new Group(groups.get(i).experts(), replicas[i], load[i]));
        }
        return out;
    }

    /** Local search: single-expert moves that lower the bottleneck (replicas re-allocated after each move). */
    static List<Group> improve(double[] loads, List<Group> start, int workers, int maxPerWorker) {
        List<Group> current = start;
        double score = bottleneck(current);
        for (int round = 0; round < 10 * loads.length + 10; round++) {
            List<Group> bestMove = null;
            double bestScore = score;
            for (int from = 0; from < current.size(); from++) {
                for (int x : current.get(from).experts()) {
                    for (int to = -1; to < current.size(); to++) {
                        if (to == from || (to >= 0 && current.get(to).experts().size() >= maxPerWorker)) {
                            continue;
                        }
                        List<Group> moved = move(current, loads, x, from, to);
                        if (moved.size() > workers) {
                            continue;
                        }
                        List<Group> allocated = allocate(moved, workers);
                        double sc = bottleneck(allocated);
                        if (sc < bestScore - 1e-9 * Math.max(1, bestScore)) {
                            bestScore = sc;
                            bestMove = allocated;
                        }
                    }
                }
            }
            for (int a = 0; a < current.size(); a++) {
                for (int b = a + 1; b < current.size(); b++) {
                    if (current.get(a).experts().size()
                                    + current.get(b).experts().size()
                            > maxPerWorker) {
                        continue;
                    }
                    List<Group> merged = new ArrayList<>();
                    for (int i = 0; i < current.size(); i++) {
                        if (i != a && i != b) {
                            merged.add(current.get(i));
                        }
                    }
                    Set<Integer> both = new TreeSet<>(current.get(a).experts());
                    both.addAll(current.get(b).experts());
                    merged.add(new Group(
                            both, 1, current.get(a).load() + current.get(b).load()));
                    List<Group> allocated = allocate(merged, workers);
                    double sc = bottleneck(allocated);
                    if (sc < bestScore - 1e-9 * Math.max(1, bestScore)) {
                        bestScore = sc;
                        bestMove = allocated;
                    }
                }
            }
            if (bestMove == null) {
                break;
            }
            current = bestMove;
            score = bestScore;
        }
        return current;
    }

    /** Expert {@code x} moved from group {@code from} to group {@code to} (-1: a new group of its own). */
    private static List<Group> move(List<Group> groups, double[] loads, int x, int from, int to) {
        List<Group> out = new ArrayList<>();
        for (int i = 0; i < groups.size(); i++) {
            Group g = groups.get(i);
            Set<Integer> experts = new TreeSet<>(g.experts());
            double load = g.load();
            if (i == from) {
                experts.remove(x);
                load -= loads[x];
            } else if (i == to) {
                experts.add(x);
                load += loads[x];
            }
            if (!experts.isEmpty()) {
                out.add(new Group(experts, 1, Math.max(0, load)));
            }
        }
        if (to < 0) {
            out.add(new Group(Set.of(x), 1, loads[x]));
        }
        return out;
    }

    /** First-fit-decreasing grouping for bottleneck {@code t}, or null if it needs more than {@code workers}. */
    static List<Group> feasible(double[] loads, double t, int workers, int maxPerWorker) {
        Integer[] order = IntStream.range(0, loads.length).boxed().toArray(Integer[]::new);
        Arrays.sort(order, Comparator.comparingDouble((Integer x) -> -loads[x]).thenComparingInt(x -> x));
        List<Set<Integer>> sets = new ArrayList<>();
        List<double[]> state = new ArrayList<>(); // {load, replicas}
        int used = 0;
        for (int x : order) {
            double l = loads[x];
            int placed = -1;
            if (l <= t) {
                for (int g = 0; g < sets.size(); g++) {
                    if (sets.get(g).size() < maxPerWorker && state.get(g)[0] + l <= state.get(g)[1] * t) {
                        placed = g;
                        break;
                    }
                }
            }
            if (placed >= 0) {
                sets.get(placed).add(x);
                state.get(placed)[0] += l;
            } else {
                int replicas = (int) Math.max(1, Math.ceil(l / t));
                used += replicas;
                if (used > workers) {
                    return null;
                }
                sets.add(new TreeSet<>(Set.of(x)));
                state.add(new double[] {l, replicas});
            }
        }
        List<Group> groups = new ArrayList<>();
        for (int g = 0; g < sets.size(); g++) {
            groups.add(new Group(sets.get(g), (int) state.get(g)[1], state.get(g)[0]));
        }
        return groups;
    }

    private static double bottleneck(List<Group> groups) {
        return groups.stream().mapToDouble(Group::loadPerReplica).max().orElse(0);
    }
}
