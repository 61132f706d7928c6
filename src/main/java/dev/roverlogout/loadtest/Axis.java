package dev.roverlogout.loadtest;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The x axis of a report chart: its range, labelled ticks, title and vertical marks. Every time chart of a report
 * shares one {@link #time} axis (start of sending to end of the drain, round ticks), so that a moment is at the
 * same place in every chart.
 */
record Axis(double min, double max, List<Tick> ticks, String title, List<Tick> marks) {
    /** A labelled position on the axis. */
    record Tick(double value, String label) {
    }

    /** Tick steps in seconds: the first giving at most {@link #MAX_INTERVALS} intervals is used. */
    private static final int[] STEPS = {1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200};
    private static final int MAX_INTERVALS = 10;

    /**
     * Seconds since sending started, from 0 to {@code drainEnd}, ticks at a round step (labels m:ss once a step is
     * a minute or more), marks where sending and the drain ended.
     */
    static Axis time(double sendingEnd, double drainEnd) {
        double max = Math.max(1, drainEnd);
        int step = STEPS[STEPS.length - 1];
        for (int s : STEPS) {
            if (max / s <= MAX_INTERVALS) {
                step = s;
                break;
            }
        }
        boolean minutes = step >= 60;
        List<Tick> ticks = new ArrayList<>();
        for (long t = 0; t <= max; t += step) {
            ticks.add(new Tick(t, minutes ? String.format(Locale.ROOT, "%d:%02d", t / 60, t % 60) : Long.toString(t)));
        }
        return new Axis(0, max, ticks, minutes ? "minutes:seconds since sending started" : "seconds since sending started",
                List.of(new Tick(Math.min(sendingEnd, max), "sending ended"), new Tick(max, "drain ended")));
    }

    /**
     * Percentiles on a log scale, x = log10(1 / (1 - p)): 50 % at 0.3, 90 % at 1, 99 % at 2, 99.9 % at 3, and so on
     * up to {@code maxX} (at least 99.9 %).
     */
    static Axis percentile(double maxX) {
        int top = (int) Math.max(3, Math.ceil(maxX - 1e-9)); // 99.9 % is 3, not 3.0000000000000004
        List<Tick> ticks = new ArrayList<>();
        ticks.add(new Tick(Math.log10(2), "50 %"));
        for (int k = 1; k <= top; k++) {
            String p = BigDecimal.valueOf(100).subtract(BigDecimal.ONE.movePointLeft(k - 2)).toPlainString();
            ticks.add(new Tick(k, p + " %"));
        }
        return new Axis(0, top, ticks, "percentile (log scale: each step ten times rarer)", List.of());
    }

    /** Whether {@code x} is within the range (points outside it are not drawn). */
    boolean contains(double x) {
        return x >= min && x <= max;
    }
}
