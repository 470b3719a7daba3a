package org.ttt4j.cli.report;

import java.awt.Color;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.HeatMapChart;
import org.knowm.xchart.HeatMapChartBuilder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.style.markers.SeriesMarkers;
import org.ttt4j.lm.eval.LossByPosition;
import org.ttt4j.lm.io.AtomicFiles;

/** PNG plots with XChart (headless): loss by position (log x), training curves, lines, heat maps. */
public final class Plots {
    static {
        System.setProperty("java.awt.headless", "true");
    }

    private Plots() {}

    /** One curve per result: mean loss of each bucket at its geometric mid-point. */
    public static void lossByPosition(List<LossByPosition> results, String title, Path png) throws IOException {
        XYChart chart = new XYChartBuilder().width(900).height(560).title(title)
                .xAxisTitle("token index (log scale)").yAxisTitle("mean loss (nats)").build();
        chart.getStyler().setXAxisLogarithmic(true);
        chart.getStyler().setLegendPosition(org.knowm.xchart.style.Styler.LegendPosition.OutsideS);
        for (LossByPosition r : results) {
            double[] x = r.buckets().stream().mapToDouble(b -> Math.sqrt((double) b.from() * (b.to() - 1))).toArray();
            double[] y = r.buckets().stream().mapToDouble(LossByPosition.Bucket::meanLoss).toArray();
            if (x.length == 0) continue;
            chart.addSeries(r.label(), x, y).setMarker(SeriesMarkers.CIRCLE);
        }
        save(chart, png);
    }

    /** One run's curve: steps and losses (training, and validation where measured). */
    public record Curve(String label, double[] steps, double[] loss, double[] valSteps, double[] valLoss) {}

    /** Training loss (lines) and validation loss (markers) against step, one pair per run. */
    public static void trainingCurves(List<Curve> curves, String title, Path png) throws IOException {
        XYChart chart = new XYChartBuilder().width(900).height(560).title(title).xAxisTitle("step").yAxisTitle("loss (nats)").build();
        for (Curve c : curves) {
            if (c.steps().length > 0) chart.addSeries(c.label() + " train", c.steps(), c.loss()).setMarker(SeriesMarkers.NONE);
            if (c.valSteps().length > 0) chart.addSeries(c.label() + " validation", c.valSteps(), c.valLoss()).setMarker(SeriesMarkers.CIRCLE);
        }
        save(chart, png);
    }

    /** Named series of (x, y) points as lines with markers; {@code logX} for a log-scale x axis. */
    public static void lines(String title, String xTitle, String yTitle, boolean logX, java.util.Map<String, double[][]> series, Path png)
            throws IOException {
        XYChart chart = new XYChartBuilder().width(900).height(560).title(title).xAxisTitle(xTitle).yAxisTitle(yTitle).build();
        chart.getStyler().setXAxisLogarithmic(logX);
        for (var e : series.entrySet()) {
            if (e.getValue()[0].length > 0) chart.addSeries(e.getKey(), e.getValue()[0], e.getValue()[1]).setMarker(SeriesMarkers.CIRCLE);
        }
        save(chart, png);
    }

    /**
     * A heat map of values in [0, 1] (needle accuracy): {@code values[y][x]} at column label x and row
     * label y, green for 1 and red for 0, as RULER's figures.
     */
    public static void heatMap(String title, String xTitle, String yTitle, List<String> xLabels, List<String> yLabels, double[][] values,
                               Path png) throws IOException {
        HeatMapChart chart = new HeatMapChartBuilder().width(700).height(480).title(title).xAxisTitle(xTitle).yAxisTitle(yTitle).build();
        chart.getStyler().setMin(0).setMax(1).setShowValue(true)
                .setRangeColors(new Color[] {new Color(0xd7, 0x30, 0x27), new Color(0xfe, 0xe0, 0x8b), new Color(0x1a, 0x98, 0x50)});
        List<Number[]> cells = new java.util.ArrayList<>();
        for (int y = 0; y < yLabels.size(); y++) {
            for (int x = 0; x < xLabels.size(); x++) cells.add(new Number[] {x, y, values[y][x]});
        }
        chart.addSeries("accuracy", xLabels, yLabels, cells);
        save(chart, png);
    }

    private static void save(org.knowm.xchart.internal.chartpart.Chart<?, ?> chart, Path png) throws IOException {
        byte[] bytes = BitmapEncoder.getBitmapBytes(chart, BitmapEncoder.BitmapFormat.PNG);
        Path parent = png.toAbsolutePath().getParent();
        if (parent != null) Files.createDirectories(parent);
        AtomicFiles.write(png, bytes);
    }
}
