package io.moestreams.core.model;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.TreeSet;
import java.util.stream.IntStream;

/**
 * Which experts a process loads: {@link #all()} (every routed and shared expert), {@link #none()} (router only,
 * what the gateway uses) or a set of routed expert ids and shared expert indices (an expert worker).
 *
 * <p>Text form ({@link #parse}): {@code all}, {@code none}, ids {@code 0,1,5}, ranges {@code 0-3}, shared experts
 * {@code s0}, {@code s1}, or {@code shared} for every shared expert, combined with commas: {@code 0-3,s0}.
 *
 * @param kind      which of the three
 * @param ids       for {@link Kind#SOME}, the distinct routed ids in ascending order; empty otherwise
 * @param shared    for {@link Kind#SOME}, the distinct shared indices in ascending order; empty otherwise
 * @param allShared for {@link Kind#SOME}: every shared expert of the model ({@code shared})
 */
public record ExpertSelection(Kind kind, List<Integer> ids, List<Integer> shared, boolean allShared) {

    /** Selection kinds. */
    public enum Kind {
        ALL,
        NONE,
        SOME
    }

    private static final String SYNTAX = "all, none or ids like 0,1,5 or 0-3 (shared experts: s0, s1 or shared)";

    public ExpertSelection {
        Objects.requireNonNull(kind, "kind");
        ids = sorted("expert id", ids);
        shared = sorted("shared expert index", shared);
        if (kind == Kind.SOME && ids.isEmpty() && shared.isEmpty() && !allShared) {
            throw new IllegalArgumentException("expert ids: expected at least one id, found none (use none())");
        }
        if (kind != Kind.SOME && (!ids.isEmpty() || !shared.isEmpty() || allShared)) {
            throw new IllegalArgumentException("expert ids: expected none for " + kind + ", found " + ids + shared);
        }
    }

    /** Routed ids only. */
    public ExpertSelection(Kind kind, List<Integer> ids) {
        this(kind, ids, List.of(), false);
    }

    private static List<Integer> sorted(String what, List<Integer> values) {
        TreeSet<Integer> sorted = new TreeSet<>();
        for (Integer id : Objects.requireNonNull(values, what)) {
            if (id == null || id < 0) {
                throw new IllegalArgumentException(what + ": expected an integer >= 0, found " + id);
            }
            sorted.add(id);
        }
        return List.copyOf(sorted);
    }

    public static ExpertSelection all() {
        return new ExpertSelection(Kind.ALL, List.of());
    }

    public static ExpertSelection none() {
        return new ExpertSelection(Kind.NONE, List.of());
    }

    public static ExpertSelection of(int... ids) {
        List<Integer> list = new ArrayList<>(ids.length);
        for (int id : ids) {
            list.add(id);
        }
        return new ExpertSelection(Kind.SOME, list);
    }

    public static ExpertSelection of(Collection<Integer> ids) {
        return new ExpertSelection(Kind.SOME, new ArrayList<>(ids));
    }

    /** Routed ids and shared indices. */
    public static ExpertSelection of(Collection<Integer> ids, Collection<Integer> shared) {
        return new ExpertSelection(Kind.SOME, new ArrayList<>(ids), new ArrayList<>(shared), false);
    }

    /**
     * Parses the text form (see the class comment).
     *
     * @throws IllegalArgumentException naming the part that is not an id
     */
    public static ExpertSelection parse(String spec) {
        if (spec == null || spec.isBlank()) {
            throw new IllegalArgumentException("experts: expected " + SYNTAX + ", found nothing");
        }
        String s = spec.trim().toLowerCase(Locale.ROOT);
        if (s.equals("all")) {
            return all();
        }
        if (s.equals("none")) {
            return none();
        }
        List<Integer> ids = new ArrayList<>();
        List<Integer> shared = new ArrayList<>();
        boolean allShared = false;
        for (String part : s.split(",")) {
            String p = part.trim();
            try {
                if (p.equals("shared")) {
                    allShared = true;
                } else if (p.startsWith("s")) {
                    shared.add(Integer.parseInt(p.substring(1)));
                } else {
                    int dash = p.indexOf('-', 1);
                    if (dash > 0) {
                        int from = Integer.parseInt(p.substring(0, dash).trim());
                        int to = Integer.parseInt(p.substring(dash + 1).trim());
                        if (to < from) {
                            throw new IllegalArgumentException("experts: range " + p + " is empty");
                        }
                        for (int i = from; i <= to; i++) {
                            ids.add(i);
                        }
                    } else {
                        ids.add(Integer.parseInt(p));
                    }
                }
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(
                        "experts: expected " + SYNTAX + ", found '" + p + "' in '" + spec + "'");
            }
        }
        return new ExpertSelection(Kind.SOME, ids, shared, allShared);
    }

    /**
     * The selected routed ids for a model with {@code numExperts} experts, ascending.
     *
     * @throws IllegalArgumentException naming the first id that is not below {@code numExperts}
     */
    public int[] resolve(int numExperts) {
        return switch (kind) {
            case ALL -> IntStream.range(0, numExperts).toArray();
            case NONE -> new int[0];
            case SOME -> {
                for (int id : ids) {
                    if (id >= numExperts) {
                        throw new IllegalArgumentException("expert id " + id + " is out of range: the model has "
                                + "num_experts = " + numExperts + " (ids 0.." + (numExperts - 1) + ")");
                    }
                }
                yield ids.stream().mapToInt(Integer::intValue).toArray();
            }
        };
    }

    /**
     * The selected shared-expert indices for a model with {@code numShared} shared experts, ascending.
     *
     * @throws IllegalArgumentException naming the first index that is not below {@code numShared}
     */
    public int[] resolveShared(int numShared) {
        if (kind == Kind.ALL || (kind == Kind.SOME && allShared)) {
            return IntStream.range(0, numShared).toArray();
        }
        for (int s : shared) {
            if (s >= numShared) {
                throw new IllegalArgumentException("shared expert s" + s + " is out of range: the model has "
                        + (numShared == 0 ? "no shared experts" : numShared + " (s0..s" + (numShared - 1) + ")"));
            }
        }
        return shared.stream().mapToInt(Integer::intValue).toArray();
    }

    @Override
    public String toString() {
        if (kind != Kind.SOME) {
            return kind.name().toLowerCase(Locale.ROOT);
        }
        String sharedText = allShared ? "+shared" : shared.isEmpty() ? "" : "+shared" + shared;
        return "experts" + ids + sharedText;
    }
}
