package io.moestreams.core.model;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.TreeSet;
import java.util.stream.IntStream;

/**
 * Which experts a process loads: {@link #all()}, {@link #none()} (router only, what the gateway uses) or a set
 * of expert ids (an expert worker).
 *
 * @param kind which of the three
 * @param ids  for {@link Kind#SOME}, the distinct ids in ascending order; empty otherwise
 */
public record ExpertSelection(Kind kind, List<Integer> ids) {

    /** Selection kinds. */
    public enum Kind {
        ALL,
        NONE,
        SOME
    }

    public ExpertSelection {
        Objects.requireNonNull(kind, "kind");
        TreeSet<Integer> sorted = new TreeSet<>();
        for (Integer id : Objects.requireNonNull(ids, "ids")) {
            if (id == null || id < 0) {
                throw new IllegalArgumentException("expert id: expected an integer >= 0, found " + id);
            }
            sorted.add(id);
        }
        if (kind == Kind.SOME && sorted.isEmpty()) {
            throw new IllegalArgumentException("expert ids: expected at least one id, found none (use none())");
        }
        if (kind != Kind.SOME && !sorted.isEmpty()) {
            throw new IllegalArgumentException("expert ids: expected none for " + kind + ", found " + sorted);
        }
        ids = List.copyOf(sorted);
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

    /**
     * Parses {@code all}, {@code none}, a single id ({@code 3}), a list ({@code 0,1,5}) or ranges ({@code 0-3,6}).
     *
     * @throws IllegalArgumentException naming the part that is not an id
     */
    public static ExpertSelection parse(String spec) {
        if (spec == null || spec.isBlank()) {
            throw new IllegalArgumentException("experts: expected all, none or ids like 0,1,5, found nothing");
        }
        String s = spec.trim().toLowerCase(Locale.ROOT);
        if (s.equals("all")) {
            return all();
        }
        if (s.equals("none")) {
            return none();
        }
        List<Integer> ids = new ArrayList<>();
        for (String part : s.split(",")) {
            String p = part.trim();
            try {
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
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(
                        "experts: expected all, none or ids like 0,1,5 or 0-3, found '" + p + "' in '" + spec + "'");
            }
        }
        return of(ids);
    }

    /**
     * The selected ids for a model with {@code numExperts} experts, ascending.
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

    @Override
    public String toString() {
        return kind == Kind.SOME ? "experts" + ids : kind.name().toLowerCase(Locale.ROOT);
    }
}
