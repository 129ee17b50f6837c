package io.tasnetty.samples.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A small dependency-free SVG writer for grouped bar charts: a grid of panels, each with categories
 * on the x axis (e.g. connection counts) and one bar per series (transport), value labels on the bars.
 */
final class SvgChart {
    /** One panel: {@code values[series][category]}, NaN for no value; {@code log}: a logarithmic y axis. */
    record Panel(String title, List<String> categories, double[][] values, String format, boolean log) {
        Panel(String title, List<String> categories, double[][] values, String format) {
            this(title, categories, values, format, false);
        }

        Panel logScale() {
            return new Panel(title, categories, values, format, true);
        }
    }

    private static final int PANEL_W = 470;
    private static final int PANEL_H = 300;
    private static final int COLS = 2;
    private static final String[] PALETTE = {"#d62728", "#1f77b4", "#2ca02c", "#7f7f7f", "#9467bd", "#ff7f0e"};

    private final String title;
    private final String subtitle;
    private final List<String> series;
    private final List<Panel> panels = new ArrayList<>();

    SvgChart(String title, String subtitle, List<String> series) {
        this.title = title;
        this.subtitle = subtitle;
        this.series = series;
    }

    SvgChart add(Panel p) {
        panels.add(p);
        return this;
    }

    /** A fixed colour per transport, so charts of different runs read the same way. */
    String color(int i) {
        return switch (series.get(i)) {
            case "tas" -> "#d62728";
            case "epoll" -> "#1f77b4";
            case "io_uring" -> "#2ca02c";
            case "nio" -> "#8c8c8c";
            case "tas-memif" -> "#ff7f0e";
            default -> series.get(i).startsWith("tas") ? "#f4a3a3" : PALETTE[(i + 4) % PALETTE.length];
        };
    }

    String render() {
        int rows = (panels.size() + COLS - 1) / COLS;
        int top = 86;
        int w = COLS * PANEL_W + 20;
        int h = top + rows * PANEL_H + 10;
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
                + "font-family=\"Helvetica, Arial, sans-serif\">%n", w, h, w, h));
        sb.append(String.format(Locale.ROOT, "<rect width=\"%d\" height=\"%d\" fill=\"white\"/>%n", w, h));
        sb.append(text(14, 26, 18, "bold", "start", title));
        sb.append(text(14, 46, 12, "normal", "start", subtitle));
        int lx = 14;
        for (int s = 0; s < series.size(); s++) {
            sb.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"58\" width=\"14\" height=\"14\" fill=\"%s\"/>%n",
                lx, color(s)));
            sb.append(text(lx + 19, 70, 13, "normal", "start", series.get(s)));
            lx += 30 + 8 * series.get(s).length() + 20;
        }
        for (int i = 0; i < panels.size(); i++) {
            int px = 10 + (i % COLS) * PANEL_W;
            int py = top + (i / COLS) * PANEL_H;
            panel(sb, panels.get(i), px, py);
        }
        sb.append("</svg>\n");
        return sb.toString();
    }

    private void panel(StringBuilder sb, Panel p, int px, int py) {
        int left = px + 58;
        int right = px + PANEL_W - 16;
        int plotTop = py + 34;
        int bottom = py + PANEL_H - 42;
        sb.append(text(px + PANEL_W / 2, py + 18, 13, "bold", "middle", p.title()));
        double max = 0;
        double min = Double.MAX_VALUE;
        for (double[] row : p.values()) {
            for (double v : row) {
                if (!Double.isNaN(v)) {
                    max = Math.max(max, v);
                    if (v > 0) {
                        min = Math.min(min, v);
                    }
                }
            }
        }
        // A bar's height is scale.applyAsDouble(value), 0 at the axis and 1 at the top.
        java.util.function.DoubleUnaryOperator scale;
        if (p.log() && max > 0) {
            double lo = Math.floor(Math.log10(min) - 1e-9); // below the smallest value, so its bar shows
            double hi = Math.max(lo + 1, Math.ceil(Math.log10(max)));
            scale = v -> v <= 0 ? 0 : Math.max(0, (Math.log10(v) - lo) / (hi - lo));
            for (double e = lo; e <= hi; e++) {
                gridLine(sb, left, right, bottom - (bottom - plotTop) * ((e - lo) / (hi - lo)), Math.pow(10, e));
            }
        } else {
            double step = niceStep(max / 4);
            double top = max <= 0 ? 1 : Math.ceil(max / step) * step;
            if (max <= 0) {
                step = 0.25;
            }
            scale = v -> v / top;
            for (double y = 0; y <= top + step / 2; y += step) {
                gridLine(sb, left, right, bottom - (bottom - plotTop) * (y / top), y);
            }
        }
        sb.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#333\"/>%n",
            left, bottom, right, bottom));
        int nCat = p.categories().size();
        int nSer = p.values().length;
        double groupW = (right - left) / (double) Math.max(1, nCat);
        double barW = Math.min(38, (groupW - 16) / Math.max(1, nSer));
        for (int c = 0; c < nCat; c++) {
            double gx = left + c * groupW + (groupW - barW * nSer) / 2;
            for (int s = 0; s < nSer; s++) {
                double v = p.values()[s][c];
                double x = gx + s * barW;
                if (Double.isNaN(v)) {
                    sb.append(text((int) Math.round(x + barW / 2), bottom - 4, 9, "normal", "middle", "n/a"));
                    continue;
                }
                double bh = (bottom - plotTop) * scale.applyAsDouble(v);
                sb.append(String.format(Locale.ROOT,
                    "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"><title>%s: %s</title></rect>%n",
                    x + 1, bottom - bh, barW - 2, bh, color(s), esc(series.get(s)),
                    esc(String.format(Locale.ROOT, p.format(), v))));
                sb.append(text((int) Math.round(x + barW / 2), (int) Math.round(bottom - bh - 3),
                    (int) Math.max(6, Math.min(9, barW / 3.0)), "normal", "middle", compact(v)));
            }
            sb.append(text((int) Math.round(left + c * groupW + groupW / 2), bottom + 16, 11, "normal", "middle",
                p.categories().get(c)));
        }
    }

    private static void gridLine(StringBuilder sb, int left, int right, double y, double value) {
        sb.append(String.format(Locale.ROOT,
            "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#e0e0e0\"/>%n", left, y, right, y));
        sb.append(text(left - 5, (int) Math.round(y) + 4, 10, "normal", "end", compact(value)));
    }

    private static double niceStep(double raw) {
        if (raw <= 0) {
            return 1;
        }
        double mag = Math.pow(10, Math.floor(Math.log10(raw)));
        double n = raw / mag;
        double nice = n <= 1 ? 1 : n <= 2 ? 2 : n <= 2.5 ? 2.5 : n <= 5 ? 5 : 10;
        return nice * mag;
    }

    /** 1234567 -> 1.23M, 0.123 -> 0.123. */
    static String compact(double v) {
        double a = Math.abs(v);
        if (a >= 1e9) {
            return trim(String.format(Locale.ROOT, "%.3g", v / 1e9)) + "G";
        }
        if (a >= 1e6) {
            return trim(String.format(Locale.ROOT, "%.3g", v / 1e6)) + "M";
        }
        if (a >= 1e4) {
            return trim(String.format(Locale.ROOT, "%.3g", v / 1e3)) + "k";
        }
        if (a >= 100 || v == 0) {
            return String.format(Locale.ROOT, "%.0f", v);
        }
        return trim(String.format(Locale.ROOT, "%.3g", v));
    }

    private static String trim(String s) {
        return s.contains(".") ? s.replaceAll("\\.?0+$", "") : s;
    }

    private static String text(int x, int y, int size, String weight, String anchor, String s) {
        return String.format(Locale.ROOT,
            "<text x=\"%d\" y=\"%d\" font-size=\"%d\" font-weight=\"%s\" text-anchor=\"%s\" fill=\"#222\">%s</text>%n",
            x, y, size, weight, anchor, esc(s));
    }

    private static String esc(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
