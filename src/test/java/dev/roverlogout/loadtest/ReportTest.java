package dev.roverlogout.loadtest;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

/**
 * The pass criteria can fail: a run that called too fast, lost or doubled a call is judged FAILED. And report.html
 * reads at a glance: criteria in words, one time axis, the queue to the end of the drain, percentiles labelled,
 * explanations where a number surprises.
 */
class ReportTest {
    private static final long START = 1_700_000_000_400L;
    private static final double DRAIN_END = 47.3;
    private static final Pattern SVG = Pattern.compile("<svg [^>]*data-x-range=\"([^\"]*)\">(.*?)</svg>");
    private static final Pattern XTICK = Pattern.compile("<text class=\"xtick\"[^>]*>([^<]*)</text>");

    private static JsonObject run(long lost, long duplicates, long overLimit, long rateLimited) {
        return new JsonObject()
                .put("epic", new JsonObject().put("lost", lost).put("duplicates", duplicates).put("callsAfterCheckOut", 0L)
                        .put("overLimitWindows", overLimit).put("rateLimited429", rateLimited).put("worstDrainRatio", 1.0)
                        .put("e2eMillis", new JsonObject()))
                .put("ingest", new JsonObject().put("droppedArrivals", 0L).put("errors", 0L).put("unexpectedAnswers", 0L)
                        .put("ackMillis", new JsonObject().put("p99", 5.0)));
    }

    @Test
    @DisplayName("a run with no trouble passes; one over the limit (sliding second or 429s), one lost or one doubled fails")
    void criteriaCanFail() {
        Scenario.Pass pass = Scenario.parse(new JsonObject(), "t").pass();
        assertThat(Report.judge(pass, run(0, 0, 0, 0)).getBoolean("passed")).isTrue();
        for (JsonObject bad : new JsonObject[] {run(1, 0, 0, 0), run(0, 1, 0, 0), run(0, 0, 1, 0), run(0, 0, 0, 3)}) {
            JsonObject verdict = Report.judge(pass, bad);
            assertThat(verdict.getBoolean("passed")).as(bad.encode()).isFalse();
        }
        // a scenario that sets its own, lower Epic limit expects 429s and does not judge them
        Scenario.Pass storm = Scenario.parse(new JsonObject().put("epic", new JsonObject().put("rateLimitPerSecond", 30)), "t").pass();
        assertThat(Report.judge(storm, run(0, 0, 0, 3)).getBoolean("passed")).isTrue();
    }

    @Test
    @DisplayName("report.html names every criterion in words, not by its report.json key")
    void criteriaInWords() {
        JsonObject r = fullRun(1473, 4120, 0);
        String html = Report.html(r);
        String criteria = html.substring(html.indexOf("<h2>Pass criteria"), html.indexOf("<h2>Summary"));
        assertThat(criteria).contains("Every acknowledged check-in still due a call was called at Epic",
                "No device was called at Epic more than once", "Epic never got more than limit + burst requests in one second",
                "Every environment drained within 1.10 × the time at exactly its limit");
        for (Object o : r.getJsonObject("pass").getJsonArray("checks")) {
            String key = ((JsonObject) o).getString("criterion");
            assertThat(criteria).as(key).doesNotContain(">" + key + "<");
        }
        // report.json keeps its keys
        assertThat(r.getJsonObject("pass").getJsonArray("checks").getJsonObject(0).getString("criterion")).isEqualTo("lost");
    }

    @Test
    @DisplayName("every time chart has one x axis, from the start of sending to the end of the drain, with round ticks")
    void oneTimeAxis() {
        List<String[]> charts = charts(Report.html(fullRun(1473, 4120, 0)));
        List<String[]> time = charts.subList(0, charts.size() - 1); // the last is the percentile distribution
        assertThat(time).hasSize(3 + 2); // ingest, ack latency, queue, one per environment
        for (String[] c : time) {
            assertThat(c[0]).isEqualTo("0 " + Report.fmt(DRAIN_END));
            assertThat(ticks(c[1])).containsExactly("0", "5", "10", "15", "20", "25", "30", "35", "40", "45");
        }
    }

    @Test
    @DisplayName("round ticks: a step of 1, 2, 5, 10, 15 or 30 s, or whole minutes as m:ss for longer runs")
    void roundTicks() {
        assertThat(Axis.time(16.2, 19.1).ticks()).extracting(Axis.Tick::label)
                .containsExactly("0", "2", "4", "6", "8", "10", "12", "14", "16", "18");
        assertThat(Axis.time(300, 330).ticks()).extracting(Axis.Tick::label)
                .containsExactly("0:00", "1:00", "2:00", "3:00", "4:00", "5:00");
        assertThat(Axis.time(300, 330).max()).isEqualTo(330);
    }

    @Test
    @DisplayName("the queue-depth chart runs to the end of the drain, and the drain's last reading is its last point")
    void queueToDrainEnd() {
        String html = Report.html(fullRun(1473, 4120, 0));
        String queue = charts(html.substring(html.indexOf("<h2>Queue depth"))).get(0)[1];
        Matcher axisLine = Pattern.compile("<line x1=\"\\d+\" y1=\"(\\d+)\" x2=\"(\\d+)\"").matcher(queue);
        assertThat(axisLine.find()).isTrue();
        List<String> polylines = new ArrayList<>();
        Matcher m = Pattern.compile("points=\"([^\"]*)\"").matcher(queue);
        while (m.find()) {
            polylines.add(m.group(1));
        }
        String[] points = polylines.get(polylines.size() - 1).split(" ");
        String[] last = points[points.length - 1].split(",");
        assertThat(Double.parseDouble(last[0])).isEqualTo(Double.parseDouble(axisLine.group(2)));
        assertThat(Double.parseDouble(last[1])).as("0 jobs open at the end").isEqualTo(Double.parseDouble(axisLine.group(1)));
    }

    @Test
    @DisplayName("the latency distribution's x axis reads 50 %, 90 %, 99 %, 99.9 %")
    void percentileLabels() {
        List<String[]> charts = charts(Report.html(fullRun(1473, 4120, 0)));
        assertThat(ticks(charts.get(charts.size() - 1)[1])).containsExactly("50 %", "90 %", "99 %", "99.9 %");
    }

    @Test
    @DisplayName("a surprising number gets its one-line reason: called > due, e2e p99 in seconds, a small ingest ratio")
    void explanations() {
        String html = Report.html(fullRun(1473, 4120, 0));
        assertThat(html).contains("Why called &gt; due: 45 of the devices called also had a check-out",
                "Why p99 is 4.1 s: lt-0 ran at its Epic limit (40/s) for 48 s",
                "the gateway kept up with the offered load, so the ratio measures that load, not the gateway's ceiling");
        // no surprise, no note: called = due, p99 below a second, arrivals dropped (the ratio is near the ceiling)
        assertThat(Report.html(fullRun(1428, 400, 7))).doesNotContain("class=\"note\"><td");
    }

    /** Each chart: its data-x-range and its SVG body. */
    private static List<String[]> charts(String html) {
        List<String[]> charts = new ArrayList<>();
        Matcher m = SVG.matcher(html);
        while (m.find()) {
            charts.add(new String[] {m.group(1), m.group(2)});
        }
        return charts;
    }

    private static List<String> ticks(String svg) {
        List<String> ticks = new ArrayList<>();
        Matcher m = XTICK.matcher(svg);
        while (m.find()) {
            ticks.add(m.group(1));
        }
        return ticks;
    }

    /**
     * A smoke-like run, as the driver reports it: 30 s of sending, the drain over at 47.3 s; lt-0 at its limit
     * (40/s) throughout, lt-1 with a gap; {@code called} devices called of 1,428 due; check-in → call p99.
     */
    private static JsonObject fullRun(long called, double e2eP99, long dropped) {
        JsonArray series = new JsonArray();
        for (int i = 0; i <= 30; i++) {
            series.add(new JsonObject().put("second", i).put("offered", 15L).put("sent", 15L).put("ok", 15L).put("errors", 0L)
                    .put("dropped", 0L).put("ackP50Millis", 10.0).put("ackP99Millis", 40.0).put("queueDepth", i < 2 ? null : 5L * i)
                    .put("disassociationsDone", 40L * i));
        }
        JsonArray samples = new JsonArray();
        for (int i = 31; i <= 47; i++) {
            samples.add(new JsonObject().put("atEpochMillis", START + i * 1000L).put("called", 0L).put("openJobs", 8L * (47 - i) + 3));
        }
        samples.add(new JsonObject().put("atEpochMillis", START + Math.round(DRAIN_END * 1000)).put("called", called).put("openJobs", 0L));
        JsonObject atLimit = new JsonObject();
        JsonObject gap = new JsonObject();
        for (long sec = START / 1000; sec <= (START / 1000) + 47; sec++) {
            atLimit.put(Long.toString(sec), 40L);
            if (sec % 20 < 15) {
                gap.put(Long.toString(sec), 12L);
            }
        }
        JsonObject e2e = new JsonObject().put("count", 1428L).put("p50", 250.0).put("p99", e2eP99).put("p100", e2eP99 + 60);
        JsonArray ackDistribution = new JsonArray();
        for (double p : new double[] {0, 50, 75, 90, 99, 99.5, 99.9, 100}) {
            ackDistribution.add(new JsonObject().put("percentile", p).put("millis", 10 + p / 10));
        }
        JsonObject r = run(0, 0, 0, 0);
        r.getJsonObject("epic").put("acceptedCheckIns", 1500L).put("dueCalls", 1428L).put("called", called)
                .put("calledWithoutAck", 0L).put("failed503", 0L).put("e2eMillis", e2e);
        r.getJsonObject("ingest").put("droppedArrivals", dropped).put("requestsSent", 450L).put("requestsOk", 450L)
                .put("achievedRequestsPerSecond", 15.0).put("duplicateResends", 4L).put("duplicateResendsConfirmed", 4L)
                .put("invalidSent", 3L).put("invalidRefused", 3L).put("startEpochMillis", START).put("sendSeconds", 30.6)
                .put("ackMillis", new JsonObject().put("count", 450L).put("p50", 10.0).put("p99", 40.0).put("p99.9", 60.0).put("p100", 61.0));
        r.put("scenario", new JsonObject().put("name", "smoke").put("description", "d").put("devices", 1500).put("seconds", 30.0)
                        .put("profile", "constant").put("environments", 2).put("rateLimitPerSecond", 40.0).put("burst", 10).put("batchSize", 10))
                .put("machine", new JsonObject().put("cores", 2)).put("startedAt", java.time.Instant.ofEpochMilli(START).toString())
                .put("drain", new JsonObject().put("drainedAtEpochMillis", START + Math.round(DRAIN_END * 1000))
                        .put("secondsAfterLastRequest", DRAIN_END - 30.6).put("samples", samples))
                .put("environments", new JsonArray().add(environment("lt-0", atLimit, e2e)).add(environment("lt-1", gap, e2e)))
                .put("series", series).put("ackDistribution", ackDistribution)
                .put("baseline", new JsonObject().put("rowsPerSecond", 90_000.0).put("gatewayEventsPerSecond", 50.0).put("ratio", 50 / 90_000.0));
        Scenario.Pass pass = Scenario.parse(new JsonObject().put("pass", new JsonObject().put("drainRatio", 1.1)), "t").pass();
        return r.put("pass", Report.judge(pass, r));
    }

    private static JsonObject environment(String id, JsonObject callsPerSecond, JsonObject e2e) {
        return new JsonObject().put("environmentId", id).put("devices", 750L).put("acceptedCheckIns", 750L).put("dueCalls", 714L)
                .put("called", 736L).put("lost", 0L).put("duplicates", 0L).put("callsAfterCheckOut", 0L).put("maxInAnySecond", 47L)
                .put("limitPerSecond", 40.0).put("burst", 10).put("meanRate", 40.0).put("drainRatio", 1.0).put("e2eMillis", e2e)
                .put("callsPerSecond", callsPerSecond);
    }
}
