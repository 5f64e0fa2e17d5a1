package io.moestreams.cli;

import java.io.PrintStream;

/**
 * A one-line progress bar on a terminal stream, redrawn at most ~20 times a second. When the process has no terminal
 * (output piped into a file or a CI log) it writes a plain line at most every 5 seconds instead of redrawing.
 */
final class ProgressBar {

    private static final long TERMINAL_INTERVAL_NANOS = 50_000_000L;
    private static final long LOG_INTERVAL_NANOS = 5_000_000_000L;

    private final PrintStream out;
    private final boolean terminal;
    private final String label;
    private final int total;
    private final long start = System.nanoTime();
    private long lastDraw;
    private boolean finished;

    ProgressBar(PrintStream out, String label, int total) {
        this(out, label, total, System.console() != null);
    }

    ProgressBar(PrintStream out, String label, int total, boolean terminal) {
        this.out = out;
        this.terminal = terminal;
        this.label = label;
        this.total = total;
    }

    /** Redraws with {@code done} of the total; once the total is drawn, later calls do nothing. */
    synchronized void update(int done) {
        if (finished) {
            return;
        }
        long now = System.nanoTime();
        boolean first = lastDraw == 0;
        if (done < total && !first && now - lastDraw < (terminal ? TERMINAL_INTERVAL_NANOS : LOG_INTERVAL_NANOS)) {
            return;
        }
        lastDraw = now;
        int width = 30;
        int filled = total == 0 ? width : (int) ((long) done * width / total);
        double secs = (now - start) / 1e9;
        if (terminal) {
            out.printf(
                    "\r%s [%s%s] %d/%d  %.1f s",
                    label, "#".repeat(filled), ".".repeat(width - filled), done, total, secs);
        } else {
            out.printf("%s %d/%d  %.1f s%n", label, done, total, secs);
        }
        if (done >= total) {
            if (terminal) {
                out.println();
            }
            finished = true;
        }
        out.flush();
    }
}
