package io.moestreams.cli;

import java.io.PrintStream;

/** A one-line progress bar on a terminal stream, redrawn at most ~20 times a second. */
final class ProgressBar {

    private final PrintStream out;
    private final String label;
    private final int total;
    private final long start = System.nanoTime();
    private long lastDraw;
    private boolean finished;

    ProgressBar(PrintStream out, String label, int total) {
        this.out = out;
        this.label = label;
        this.total = total;
    }

    /** Redraws with {@code done} of the total; once the total is drawn, later calls do nothing. */
    synchronized void update(int done) {
        if (finished) {
            return;
        }
        long now = System.nanoTime();
        if (done < total && now - lastDraw < 50_000_000L) {
            return;
        }
        lastDraw = now;
        int width = 30;
        int filled = total == 0 ? width : (int) ((long) done * width / total);
        double secs = (now - start) / 1e9;
        out.printf(
                "\r%s [%s%s] %d/%d  %.1f s", label, "#".repeat(filled), ".".repeat(width - filled), done, total, secs);
        if (done >= total) {
            out.println();
            finished = true;
        }
        out.flush();
    }
}
