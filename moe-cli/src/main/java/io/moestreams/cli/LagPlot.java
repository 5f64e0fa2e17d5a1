package io.moestreams.cli;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import javax.imageio.ImageIO;

/** A PNG of consumer lag per expert over time, one panel per run (java.awt, headless). */
final class LagPlot {

    /** One run: its title and samples {seconds, lag of expert 0, lag of expert 1, ...}. */
    record Series(String title, List<double[]> samples) {}

    private static final Color[] COLORS = {
        new Color(0xd62728), new Color(0x1f77b4), new Color(0x2ca02c), new Color(0xff7f0e),
        new Color(0x9467bd), new Color(0x8c564b), new Color(0xe377c2), new Color(0x7f7f7f),
        new Color(0xbcbd22), new Color(0x17becf)
    };

    private LagPlot() {}

    /** Draws the runs one above the other, sharing the y scale so they compare at a glance. */
    static void write(Path png, String yLabel, List<Series> runs) throws IOException {
        System.setProperty("java.awt.headless", "true");
        int width = 900;
        int panel = 280;
        int height = panel * runs.size() + 20;
        BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, width, height);
        double yMax = 1;
        double xMax = 1;
        for (Series s : runs) {
            for (double[] v : s.samples()) {
                xMax = Math.max(xMax, v[0]);
                for (int i = 1; i < v.length; i++) {
                    yMax = Math.max(yMax, v[i]);
                }
            }
        }
        yMax = niceCeil(yMax);
        for (int r = 0; r < runs.size(); r++) {
            drawPanel(g, runs.get(r), 0, r * panel + 10, width, panel, xMax, yMax, yLabel);
        }
        g.dispose();
        Files.createDirectories(png.toAbsolutePath().getParent());
        ImageIO.write(img, "png", png.toFile());
    }

    private static void drawPanel(
            Graphics2D g, Series s, int x0, int y0, int w, int h, double xMax, double yMax, String yLabel) {
        int left = x0 + 70;
        int right = x0 + w - 130;
        int top = y0 + 28;
        int bottom = y0 + h - 40;
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 13));
        g.setColor(Color.BLACK);
        g.drawString(s.title(), left, y0 + 16);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
        g.setColor(new Color(0xdddddd));
        for (int i = 0; i <= 4; i++) {
            int y = bottom - (bottom - top) * i / 4;
            g.drawLine(left, y, right, y);
        }
        g.setColor(Color.BLACK);
        g.drawRect(left, top, right - left, bottom - top);
        for (int i = 0; i <= 4; i++) {
            int y = bottom - (bottom - top) * i / 4;
            g.drawString(String.format(Locale.ROOT, "%.0f", yMax * i / 4), x0 + 8, y + 4);
        }
        double xStep = niceCeil(xMax / 6);
        for (double t = 0; t <= xMax + 1e-9; t += xStep) {
            int x = left + (int) ((right - left) * t / xMax);
            g.drawLine(x, bottom, x, bottom + 4);
            g.drawString(String.format(Locale.ROOT, "%.0f", t), x - 6, bottom + 16);
        }
        g.drawString("seconds", (left + right) / 2 - 20, bottom + 32);
        g.drawString(yLabel, x0 + 8, top - 6);
        int experts = s.samples().isEmpty() ? 0 : s.samples().get(0).length - 1;
        g.setStroke(new BasicStroke(2f));
        for (int e = 0; e < experts; e++) {
            g.setColor(COLORS[e % COLORS.length]);
            int px = -1;
            int py = -1;
            for (double[] v : s.samples()) {
                int x = left + (int) ((right - left) * v[0] / xMax);
                int y = bottom - (int) ((bottom - top) * Math.min(v[e + 1], yMax) / yMax);
                if (px >= 0) {
                    g.drawLine(px, py, x, y);
                }
                px = x;
                py = y;
            }
            g.drawString("expert " + e, right + 12, top + 14 + e * 16);
        }
        g.setStroke(new BasicStroke(1f));
    }

    private static double niceCeil(double v) {
        if (v <= 0) {
            return 1;
        }
        double p = Math.pow(10, Math.floor(Math.log10(v)));
        for (double m : new double[] {1, 2, 2.5, 5, 10}) {
            if (m * p >= v) {
                return m * p;
            }
        }
        return 10 * p;
    }
}
