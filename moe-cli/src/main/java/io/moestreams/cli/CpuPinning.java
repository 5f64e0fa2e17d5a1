package io.moestreams.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Pins benchmark worker processes to CPUs with {@code taskset} (Linux), so that a worker is a fixed share of the
 * machine: the CPUs this process may run on ({@code Cpus_allowed_list} of {@code /proc/self/status}) are dealt out to
 * the workers, heaviest first, each to the CPU with the least load so far (longest-processing-time first).
 */
final class CpuPinning {

    private CpuPinning() {}

    /** The CPUs this process may use, or an empty list where that is unknown or {@code taskset} is missing. */
    static List<Integer> available() {
        Path status = Path.of("/proc/self/status");
        if (!Files.isReadable(status) || findTaskset() == null) {
            return List.of();
        }
        try {
            for (String line : Files.readAllLines(status)) {
                if (line.startsWith("Cpus_allowed_list:")) {
                    return parseList(line.substring(line.indexOf(':') + 1).trim());
                }
            }
        } catch (IOException | RuntimeException e) {
            return List.of();
        }
        return List.of();
    }

    /** Parses a kernel CPU list such as {@code 0-3,8,10-11}. */
    static List<Integer> parseList(String list) {
        List<Integer> cpus = new ArrayList<>();
        for (String part : list.split(",")) {
            String p = part.trim();
            if (p.isEmpty()) {
                continue;
            }
            int dash = p.indexOf('-');
            int from = Integer.parseInt(dash < 0 ? p : p.substring(0, dash));
            int to = dash < 0 ? from : Integer.parseInt(p.substring(dash + 1));
            for (int c = from; c <= to; c++) {
                cpus.add(c);
            }
        }
        return List.copyOf(cpus);
    }

    /**
     * Deals {@code loads.length} workers out to {@code cpus}: heaviest first, each to the CPU with the least load so
     * far (ties: fewest workers, then list order), so equal loads go round-robin.
     *
     * @return per worker, its CPU
     */
    static int[] assign(double[] loads, List<Integer> cpus) {
        if (cpus.isEmpty()) {
            throw new IllegalArgumentException("no CPU to assign workers to");
        }
        Integer[] order = new Integer[loads.length];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (a, b) -> Double.compare(loads[b], loads[a])); // stable: list order on ties
        double[] load = new double[cpus.size()];
        int[] count = new int[cpus.size()];
        int[] out = new int[loads.length];
        for (int w : order) {
            int best = 0;
            for (int c = 1; c < cpus.size(); c++) {
                if (load[c] < load[best] || (load[c] == load[best] && count[c] < count[best])) {
                    best = c;
                }
            }
            load[best] += loads[w];
            count[best]++;
            out[w] = cpus.get(best);
        }
        return out;
    }

    /** The launcher prefix that runs a command on {@code cpu}. */
    static List<String> launcher(int cpu) {
        return List.of(findTaskset(), "-c", Integer.toString(cpu));
    }

    private static String findTaskset() {
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(":")) {
            Path p = Path.of(dir, "taskset");
            if (Files.isExecutable(p)) {
                return p.toString();
            }
        }
        return null;
    }
}
