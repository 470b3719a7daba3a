package org.ttt4j.cli.report;

import static org.junit.jupiter.api.Assertions.*;

import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ttt4j.lm.eval.LossByPosition;

class PlotsTest {
    private static BufferedImage png(Path file) throws Exception {
        byte[] bytes = Files.readAllBytes(file);
        assertArrayEquals(new byte[] {(byte) 0x89, 'P', 'N', 'G'}, java.util.Arrays.copyOf(bytes, 4), file + " is not a PNG");
        BufferedImage image = ImageIO.read(file.toFile());
        assertNotNull(image, file.toString());
        return image;
    }

    private static boolean hasPixel(BufferedImage image, int rgb) {
        for (int y = 0; y < image.getHeight(); y++) {
            for (int x = 0; x < image.getWidth(); x++) {
                if ((image.getRGB(x, y) & 0xffffff) == rgb) return true;
            }
        }
        return false;
    }

    @Test
    void lossByPositionIsA900By560Png(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("sub/loss.png");
        var empty = LossByPosition.of("empty", List.of());
        Plots.lossByPosition(List.of(LossByPosition.of("a", List.of(new float[] {3, 2, 2, 1})), empty), "t", file);
        BufferedImage image = png(file);
        assertEquals(900, image.getWidth());
        assertEquals(560, image.getHeight());
    }

    @Test
    void heatMapColoursOneGreenAndZeroRed(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("h.png");
        Plots.heatMap("t", "depth", "context", List.of("0", "0.5"), List.of("128", "256"), new double[][] {{1, 0}, {0.5, 0}}, file);
        BufferedImage image = png(file);
        assertEquals(700, image.getWidth());
        assertEquals(480, image.getHeight());
        assertTrue(hasPixel(image, 0x1a9850), "no cell in the colour of accuracy 1");
        assertTrue(hasPixel(image, 0xd73027), "no cell in the colour of accuracy 0");
    }

    @Test
    void linesAndTrainingCurvesSkipEmptySeries(@TempDir Path dir) throws Exception {
        Map<String, double[][]> series = new LinkedHashMap<>();
        series.put("a", new double[][] {{1, 10, 100}, {3, 2, 1}});
        series.put("none", new double[][] {{}, {}});
        Path lines = dir.resolve("lines.png");
        Plots.lines("t", "x", "y", true, series, lines);
        assertEquals(900, png(lines).getWidth());

        Path curves = dir.resolve("curves.png");
        var trained = new Plots.Curve("run", new double[] {1, 2, 3}, new double[] {5, 4, 3}, new double[] {3}, new double[] {3.5});
        var unvalidated = new Plots.Curve("other", new double[] {1, 2}, new double[] {6, 5}, new double[0], new double[0]);
        Plots.trainingCurves(List.of(trained, unvalidated), "t", curves);
        assertEquals(560, png(curves).getHeight());
    }
}
