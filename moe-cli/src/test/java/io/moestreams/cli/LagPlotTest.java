package io.moestreams.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LagPlotTest {

    private static final int HOT_RGB = 0xd62728; // expert 0's colour
    private static final int COLD_RGB = 0x1f77b4; // expert 1's colour

    private static int count(BufferedImage img, int rgb, int fromY, int toY) {
        int n = 0;
        for (int y = fromY; y < toY; y++) {
            for (int x = 0; x < img.getWidth(); x++) {
                n += (img.getRGB(x, y) & 0xffffff) == rgb ? 1 : 0;
            }
        }
        return n;
    }

    @Test
    void eachRunIsAPanelWithOneLinePerExpertOnAShareableScale(@TempDir Path dir) throws Exception {
        // Given run (a) where expert 0's lag climbs to 1000 records and run (b) where no expert lags
        List<double[]> a = List.of(new double[] {0, 0, 0}, new double[] {5, 500, 0}, new double[] {10, 1000, 0});
        List<double[]> b = List.of(new double[] {0, 0, 0}, new double[] {5, 0, 0}, new double[] {10, 0, 0});
        Path png = dir.resolve("sub/lag.png");

        // When plotted
        LagPlot.write(
                png, "consumer lag (records)", List.of(new LagPlot.Series("(a)", a), new LagPlot.Series("(b)", b)));

        // Then the PNG has two panels; (a)'s climbing hot line is drawn well above its axis, (b)'s stays on it
        BufferedImage img = ImageIO.read(png.toFile());
        assertEquals(900, img.getWidth());
        assertEquals(2 * 280 + 20, img.getHeight());
        int axisA = 10 + 280 - 40;
        int topA = 10 + 28;
        assertTrue(count(img, HOT_RGB, topA, axisA - 20) > 50, "the hot line rises in panel (a)");
        int axisB = 290 + 280 - 40;
        int topB = 290 + 28;
        assertEquals(0, count(img, HOT_RGB, topB + 20, axisB - 5), "no hot line above the axis in panel (b)");
        assertTrue(count(img, COLD_RGB, 0, img.getHeight()) > 0, "expert 1 is drawn (and named)");
    }
}
