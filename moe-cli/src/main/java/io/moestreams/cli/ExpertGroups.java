package io.moestreams.cli;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;
import picocli.CommandLine;
import picocli.CommandLine.ParameterException;

/**
 * Parses {@code --groups}: how a model's experts are split into independently deployed and scaled groups.
 *
 * <p>Entries are separated by {@code ;}: {@code NAME=IDS} (ids like {@code 0}, {@code 0,5} or {@code 8-15}),
 * {@code NAME=rest} (every expert no other entry names) or {@code NAME=rest/K} (those, in K contiguous groups
 * {@code NAME-1..NAME-K}). A bare number {@code K} is {@code experts=rest/K}. Every expert must land in exactly
 * one group.
 */
final class ExpertGroups {

    private static final Pattern NAME = Pattern.compile("[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?");

    private ExpertGroups() {}

    /**
     * The group names a spec gives without knowing the model: the name of each entry ({@code NAME=rest/K} counts as
     * NAME, a bare number as {@code experts}); {@link #parse} with the model's expert count gives the exact ones.
     */
    static List<String> bareNames(String spec) {
        List<String> names = new ArrayList<>();
        String s = spec.trim();
        for (String entry : (s.matches("\\d+") ? "experts=rest" : s).split(";")) {
            int eq = entry.indexOf('=');
            names.add((eq < 0 ? entry : entry.substring(0, eq)).trim());
        }
        return names;
    }

    /** Group name → its experts, in the order given. */
    static Map<String, Set<Integer>> parse(String spec, int numExperts, CommandLine cl) {
        String s = spec.trim();
        if (s.matches("\\d+")) {
            s = "experts=rest/" + s;
        }
        Map<String, Set<Integer>> groups = new LinkedHashMap<>();
        Set<Integer> named = new TreeSet<>();
        String restName = null;
        int restParts = 1;
        for (String entry : s.split(";")) {
            String e = entry.trim();
            int eq = e.indexOf('=');
            if (eq <= 0) {
                throw new ParameterException(
                        cl, "--groups: expected NAME=IDS, NAME=rest or NAME=rest/K, found '" + e + "'");
            }
            String name = e.substring(0, eq).trim();
            String ids = e.substring(eq + 1).trim();
            if (!NAME.matcher(name).matches()) {
                throw new ParameterException(
                        cl,
                        "--groups: group name '" + name + "' must be lower-case letters, digits and '-' (at most 40)");
            }
            if (groups.containsKey(name) || name.equals(restName)) {
                throw new ParameterException(cl, "--groups: group '" + name + "' is named twice");
            }
            if (ids.equals("rest") || ids.startsWith("rest/")) {
                if (restName != null) {
                    throw new ParameterException(cl, "--groups: only one entry may take the rest");
                }
                restName = name;
                restParts = ids.equals("rest") ? 1 : parts(ids.substring(5), cl);
                groups.put(name, null); // placeholder keeps the order
                continue;
            }
            Set<Integer> set = ids(ids, numExperts, name, cl);
            for (int x : set) {
                if (!named.add(x)) {
                    throw new ParameterException(cl, "--groups: expert " + x + " is in two groups");
                }
            }
            groups.put(name, set);
        }
        List<Integer> rest = new ArrayList<>();
        for (int x = 0; x < numExperts; x++) {
            if (!named.contains(x)) {
                rest.add(x);
            }
        }
        Map<String, Set<Integer>> out = new LinkedHashMap<>();
        for (Map.Entry<String, Set<Integer>> g : groups.entrySet()) {
            if (g.getValue() != null) {
                out.put(g.getKey(), g.getValue());
            } else if (restParts == 1) {
                out.put(g.getKey(), new TreeSet<>(rest));
            } else {
                if (rest.size() < restParts) {
                    throw new ParameterException(
                            cl, "--groups: " + rest.size() + " remaining experts cannot fill " + restParts + " groups");
                }
                for (int k = 0; k < restParts; k++) {
                    int from = k * rest.size() / restParts;
                    int to = (k + 1) * rest.size() / restParts;
                    out.put(g.getKey() + "-" + (k + 1), new TreeSet<>(rest.subList(from, to)));
                }
            }
        }
        if (restName == null && !rest.isEmpty()) {
            throw new ParameterException(cl, "--groups: experts " + rest + " are in no group (add an entry NAME=rest)");
        }
        out.values().removeIf(Set::isEmpty);
        return out;
    }

    private static int parts(String k, CommandLine cl) {
        try {
            int n = Integer.parseInt(k.trim());
            if (n >= 1) {
                return n;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new ParameterException(cl, "--groups: rest/K needs K >= 1, found '" + k + "'");
    }

    private static Set<Integer> ids(String spec, int numExperts, String group, CommandLine cl) {
        Set<Integer> out = new TreeSet<>();
        for (String part : spec.split(",")) {
            String p = part.trim();
            try {
                int dash = p.indexOf('-');
                int from = Integer.parseInt(dash > 0 ? p.substring(0, dash).trim() : p);
                int to = dash > 0 ? Integer.parseInt(p.substring(dash + 1).trim()) : from;
                if (from < 0 || to < from) {
                    throw new NumberFormatException();
                }
                for (int x = from; x <= to; x++) {
                    if (x >= numExperts) {
                        throw new ParameterException(
                                cl,
                                "--groups: group '" + group + "' names expert " + x + " but the model has " + numExperts
                                        + " experts (0.." + (numExperts - 1) + ")");
                    }
                    out.add(x);
                }
            } catch (NumberFormatException e) {
                throw new ParameterException(
                        cl, "--groups: group '" + group + "': expected ids like 3, 0,5 or 8-15, found '" + spec + "'");
            }
        }
        return out;
    }
}
