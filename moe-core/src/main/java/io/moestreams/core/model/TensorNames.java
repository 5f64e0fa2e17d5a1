package io.moestreams.core.model;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/** Error-message help for a missing tensor name: which tensors exist near it. */
final class TensorNames {

    private static final int MAX_NEARBY = 12;

    private TensorNames() {}

    /** Describes the tensors sharing the longest dotted prefix with {@code name}. */
    static String nearby(Collection<String> tensors, String name) {
        if (tensors.isEmpty()) {
            return "the file has no tensors";
        }
        String prefix = name;
        while (true) {
            int dot = prefix.lastIndexOf('.', prefix.length() - 2);
            prefix = dot < 0 ? "" : prefix.substring(0, dot + 1);
            List<String> found = new ArrayList<>();
            int total = 0;
            for (String candidate : tensors) {
                if (candidate.startsWith(prefix)) {
                    total++;
                    if (found.size() < MAX_NEARBY) {
                        found.add(candidate);
                    }
                }
            }
            if (total > 0 || prefix.isEmpty()) {
                String more = total > found.size() ? " and " + (total - found.size()) + " more" : "";
                return (prefix.isEmpty() ? "the file has " : "tensors under '" + prefix + "': ") + found + more;
            }
        }
    }
}
