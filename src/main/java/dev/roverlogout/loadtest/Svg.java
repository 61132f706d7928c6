package dev.roverlogout.loadtest;

import java.util.List;
import java.util.Locale;

/** Minimal inline SVG line charts for the self-contained HTML report (no scripts, no network). */
final class Svg {
    private static final String[] COLOURS = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"};
    private static final int W = 960;
    private static final int H = 260;
    private static final int L = 60;
    private static final int R = 40;
    private static final int T = 30;
    private static final int B = 36;

    private Svg() {
    }

    /**
     * Lines of (x, y) points over the x {@code axis} (points outside its range are not drawn) with a legend;
     * {@code limit} (or null) is drawn as a dashed horizontal line, the axis' marks as dotted vertical ones.
     */
    static String lines(Axis axis, String yLabel, List<List<double[]>> series, List<String> names, Double limit) {
        double maxY = limit == null ? 0 : limit * 1.1;
        boolean any = false;
        for (List<double[]> s : series) {
            for (double[] p : s) {
                if (axis.contains(p[0])) {
                    any = true;
                    maxY = Math.max(maxY, p[1]);
                }
            }
        }
        StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
                + "viewBox=\"0 0 %d %d\" data-x-range=\"%s %s\">", W, H, W, H, Report.fmt(axis.min()), Report.fmt(axis.max())));
        if (!any) {
            return b.append("<text x=\"20\" y=\"40\">no data</text></svg>").toString();
        }
        double y1 = niceCeiling(maxY <= 0 ? 1 : maxY);
        axes(b, axis, yLabel, y1);
        if (limit != null) {
            double y = py(limit, y1);
            b.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#b00020\" "
                    + "stroke-dasharray=\"6 4\"/><text x=\"%d\" y=\"%.1f\" font-size=\"11\" fill=\"#b00020\" text-anchor=\"end\">"
                    + "limit + burst %s</text>", L, y, W - R, y, W - R, y - 4, Report.fmt(limit)));
        }
        int legendX = L + 10;
        for (int s = 0; s < series.size(); s++) {
            StringBuilder pts = new StringBuilder();
            for (double[] p : series.get(s)) {
                if (axis.contains(p[0])) {
                    pts.append(String.format(Locale.ROOT, "%.1f,%.1f ", px(p[0], axis), py(p[1], y1)));
                }
            }
            String colour = COLOURS[s % COLOURS.length];
            b.append("<polyline fill=\"none\" stroke-width=\"1.6\" stroke=\"").append(colour).append("\" points=\"")
                    .append(pts.toString().trim()).append("\"/>");
            b.append("<text x=\"").append(legendX).append("\" y=\"").append(T - 12).append("\" font-size=\"12\" fill=\"")
                    .append(colour).append("\">■ ").append(Report.esc(names.get(s))).append("</text>");
            legendX += 40 + 7 * names.get(s).length();
        }
        return b.append("</svg>").toString();
    }

    /** Axis lines, the y grid, the x axis' ticks (class xtick) and marks, and both axis titles. */
    private static void axes(StringBuilder b, Axis axis, String yLabel, double y1) {
        b.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#333\"/>", L, H - B, W - R, H - B));
        b.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#333\"/>", L, T, L, H - B));
        for (int i = 0; i <= 4; i++) {
            double v = y1 * i / 4;
            double y = py(v, y1);
            b.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#eee\"/>", L, y, W - R, y));
            b.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%.1f\" font-size=\"11\" text-anchor=\"end\">%s</text>",
                    L - 4, y + 4, Report.fmt(v)));
        }
        for (Axis.Tick t : axis.ticks()) {
            double x = px(t.value(), axis);
            b.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#333\"/>"
                    + "<text class=\"xtick\" x=\"%.1f\" y=\"%d\" font-size=\"11\" text-anchor=\"middle\">%s</text>",
                    x, H - B, x, H - B + 4, x, H - B + 15, Report.esc(t.label())));
        }
        for (int i = 0; i < axis.marks().size(); i++) {
            Axis.Tick m = axis.marks().get(i);
            double x = px(m.value(), axis);
            b.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#888\" "
                    + "stroke-dasharray=\"2 3\"/><text x=\"%.1f\" y=\"%d\" font-size=\"10\" fill=\"#666\" text-anchor=\"end\">%s</text>",
                    x, T, x, H - B, x - 3, T + 10 + 12 * i, Report.esc(m.label())));
        }
        b.append("<text x=\"").append(W / 2).append("\" y=\"").append(H - 4).append("\" font-size=\"11\" text-anchor=\"middle\">")
                .append(Report.esc(axis.title())).append("</text>");
        b.append("<text x=\"4\" y=\"").append(T - 12).append("\" font-size=\"11\">").append(Report.esc(yLabel)).append("</text>");
    }

    private static double px(double x, Axis axis) {
        return L + (x - axis.min()) / (axis.max() - axis.min()) * (W - L - R);
    }

    private static double py(double y, double y1) {
        return H - B - y / y1 * (H - T - B);
    }

    private static double niceCeiling(double v) {
        double magnitude = Math.pow(10, Math.floor(Math.log10(v)));
        for (double step : new double[] {1, 2, 2.5, 5, 10}) {
            if (step * magnitude >= v) {
                return step * magnitude;
            }
        }
        return 10 * magnitude;
    }
}
