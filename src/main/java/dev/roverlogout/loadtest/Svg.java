package dev.roverlogout.loadtest;

import java.util.List;
import java.util.Locale;

/** Minimal inline SVG line charts for the self-contained HTML report (no scripts, no network). */
final class Svg {
    private static final String[] COLOURS = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"};
    private static final int W = 960;
    private static final int H = 260;
    private static final int L = 60;
    private static final int R = 20;
    private static final int T = 30;
    private static final int B = 36;

    private Svg() {
    }

    /** Lines of (x, y) points with a legend; {@code limit} (or null) is drawn as a dashed horizontal line. */
    static String lines(String xLabel, String yLabel, List<List<double[]>> series, List<String> names, Double limit) {
        double minX = Double.MAX_VALUE;
        double maxX = -Double.MAX_VALUE;
        double maxY = limit == null ? 0 : limit * 1.1;
        for (List<double[]> s : series) {
            for (double[] p : s) {
                minX = Math.min(minX, p[0]);
                maxX = Math.max(maxX, p[0]);
                maxY = Math.max(maxY, p[1]);
            }
        }
        StringBuilder b = new StringBuilder();
        b.append("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"").append(W).append("\" height=\"").append(H)
                .append("\" viewBox=\"0 0 ").append(W).append(' ').append(H).append("\">");
        if (minX == Double.MAX_VALUE) {
            return b.append("<text x=\"20\" y=\"40\">no data</text></svg>").toString();
        }
        if (maxX == minX) {
            maxX = minX + 1;
        }
        if (maxY <= 0) {
            maxY = 1;
        }
        double x0 = minX;
        double x1 = maxX;
        double y1 = niceCeiling(maxY);
        // axes, grid and ticks
        b.append("<line x1=\"").append(L).append("\" y1=\"").append(H - B).append("\" x2=\"").append(W - R).append("\" y2=\"")
                .append(H - B).append("\" stroke=\"#333\"/>");
        b.append("<line x1=\"").append(L).append("\" y1=\"").append(T).append("\" x2=\"").append(L).append("\" y2=\"")
                .append(H - B).append("\" stroke=\"#333\"/>");
        for (int i = 0; i <= 4; i++) {
            double v = y1 * i / 4;
            double y = py(v, y1);
            b.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#eee\"/>", L, y, W - R, y));
            b.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%.1f\" font-size=\"11\" text-anchor=\"end\">%s</text>",
                    L - 4, y + 4, Report.fmt(v)));
        }
        for (int i = 0; i <= 6; i++) {
            double v = x0 + (x1 - x0) * i / 6;
            b.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%d\" font-size=\"11\" text-anchor=\"middle\">%s</text>",
                    px(v, x0, x1), H - B + 14, Report.fmt(Math.round(v * 10) / 10.0)));
        }
        b.append("<text x=\"").append(W / 2).append("\" y=\"").append(H - 4).append("\" font-size=\"11\" text-anchor=\"middle\">")
                .append(Report.esc(xLabel)).append("</text>");
        b.append("<text x=\"4\" y=\"").append(T - 12).append("\" font-size=\"11\">").append(Report.esc(yLabel)).append("</text>");
        if (limit != null) {
            double y = py(limit, y1);
            b.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#b00020\" "
                    + "stroke-dasharray=\"6 4\"/><text x=\"%d\" y=\"%.1f\" font-size=\"11\" fill=\"#b00020\" text-anchor=\"end\">"
                    + "limit + burst %s</text>", L, y, W - R, y, W - R, y - 4, Report.fmt(limit)));
        }
        for (int s = 0; s < series.size(); s++) {
            StringBuilder pts = new StringBuilder();
            for (double[] p : series.get(s)) {
                pts.append(String.format(Locale.ROOT, "%.1f,%.1f ", px(p[0], x0, x1), py(p[1], y1)));
            }
            String colour = COLOURS[s % COLOURS.length];
            b.append("<polyline fill=\"none\" stroke-width=\"1.6\" stroke=\"").append(colour).append("\" points=\"")
                    .append(pts.toString().trim()).append("\"/>");
            b.append("<text x=\"").append(L + 10 + s * 200).append("\" y=\"").append(T - 12).append("\" font-size=\"12\" fill=\"")
                    .append(colour).append("\">■ ").append(Report.esc(names.get(s))).append("</text>");
        }
        return b.append("</svg>").toString();
    }

    private static double px(double x, double x0, double x1) {
        return L + (x - x0) / (x1 - x0) * (W - L - R);
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
