package dev.roverlogout.loadtest;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import org.HdrHistogram.Histogram;
import org.HdrHistogram.HistogramIterationValue;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

/**
 * The load test report: {@code report.json} (every number; fields documented in loadtest/README.md) and a
 * self-contained {@code report.html} (inline SVG charts, no network).
 */
public final class Report {
    private Report() {
    }

    static JsonObject build(Scenario s, Driver d, JsonObject drain, JsonArray perEnv, Histogram e2eAll) {
        JsonObject counts = d.counts();
        Histogram ack = d.ackHistogram();
        long start = counts.getLong("startEpochMillis");
        long ended = counts.getLong("sendingEndedEpochMillis");
        double sendSeconds = Math.max(0.001, (ended - start) / 1000.0);
        JsonObject totals = new JsonObject();
        for (String k : new String[] {"acceptedCheckIns", "dueCalls", "called", "calls", "lost", "duplicates",
                "callsAfterCheckOut", "callsAfterCheckOutAck", "overLimitWindows", "rateLimited429", "failed503",
                "ambiguousCheckOuts", "calledWithoutAck"}) {
            long sum = 0;
            for (Object o : perEnv) {
                sum += ((JsonObject) o).getLong(k);
            }
            totals.put(k, sum);
        }
        double worstDrain = 0;
        for (Object o : perEnv) {
            worstDrain = Math.max(worstDrain, ((JsonObject) o).getDouble("drainRatio"));
        }
        totals.put("worstDrainRatio", worstDrain);

        JsonArray series = new JsonArray();
        List<Driver.Second> secs = d.seconds();
        for (int i = 0; i < secs.size(); i++) {
            Driver.Second x = secs.get(i);
            series.add(new JsonObject().put("second", i).put("offered", x.offered).put("sent", x.sent).put("ok", x.ok)
                    .put("errors", x.errors).put("dropped", x.dropped)
                    .put("ackP50Millis", x.ack.getTotalCount() == 0 ? null : x.ack.getValueAtPercentile(50) / 1000.0)
                    .put("ackP99Millis", x.ack.getTotalCount() == 0 ? null : x.ack.getValueAtPercentile(99) / 1000.0)
                    .put("queueDepth", x.queueDepth < 0 ? null : x.queueDepth)
                    .put("disassociationsDone", x.disassociationsDone < 0 ? null : x.disassociationsDone));
        }
        JsonArray distribution = new JsonArray();
        if (ack.getTotalCount() > 0) {
            for (HistogramIterationValue v : ack.percentiles(5)) {
                distribution.add(new JsonObject().put("percentile", v.getPercentileLevelIteratedTo())
                        .put("millis", v.getValueIteratedTo() / 1000.0));
            }
        }
        JsonObject report = new JsonObject()
                .put("scenario", new JsonObject().put("name", s.name()).put("description", s.description())
                        .put("devices", s.devices()).put("seconds", s.seconds()).put("profile", s.profile().type())
                        .put("environments", s.environments().count()).put("skew", s.environments().skew())
                        .put("rateLimitPerSecond", s.environments().rateLimitPerSecond()).put("burst", s.environments().burst())
                        .put("batchSize", s.batchSize()).put("checkOutShare", s.checkOutShare())
                        .put("duplicateShare", s.duplicateShare()).put("invalidShare", s.invalidShare()))
                .put("machine", new JsonObject().put("cores", Runtime.getRuntime().availableProcessors())
                        .put("os", System.getProperty("os.name") + " " + System.getProperty("os.version"))
                        .put("java", System.getProperty("java.version")))
                .put("startedAt", java.time.Instant.ofEpochMilli(start).toString())
                .put("ingest", counts.put("sendSeconds", sendSeconds)
                        .put("offeredEventsPerSecond", (s.devices() + counts.getLong("checkOutsAccepted")) / Math.max(0.001, s.seconds()))
                        .put("achievedRequestsPerSecond", counts.getLong("requestsOk") / sendSeconds)
                        .put("ackMillis", Accounting.percentiles(ack)))
                .put("drain", drain.put("secondsAfterLastRequest", (drain.getLong("drainedAtEpochMillis") - ended) / 1000.0))
                .put("epic", totals.put("e2eMillis", Accounting.percentiles(e2eAll)))
                .put("environments", perEnv).put("series", series).put("ackDistribution", distribution);
        return report.put("pass", judge(s.pass(), report));
    }

    /** Each criterion with its limit, the measured value and whether it holds; {@code passed} = all hold. */
    static JsonObject judge(Scenario.Pass p, JsonObject r) {
        JsonArray checks = new JsonArray();
        JsonObject epic = r.getJsonObject("epic");
        JsonObject ingest = r.getJsonObject("ingest");
        check(checks, "lost", p.lost(), epic.getLong("lost"));
        check(checks, "duplicates", p.duplicates(), epic.getLong("duplicates"));
        check(checks, "callsAfterCheckOut", p.callsAfterCheckOut(), epic.getLong("callsAfterCheckOut"));
        check(checks, "overLimitWindows", p.overLimitWindows(), epic.getLong("overLimitWindows"));
        check(checks, "rateLimited429", p.rateLimited429(), epic.getLong("rateLimited429"));
        check(checks, "droppedArrivals", p.droppedArrivals(), ingest.getLong("droppedArrivals"));
        check(checks, "errors", p.errors(), ingest.getLong("errors"));
        check(checks, "unexpectedAnswers", 0, ingest.getLong("unexpectedAnswers"));
        check(checks, "p99AckMillis", p.p99AckMillis(), ingest.getJsonObject("ackMillis").getDouble("p99", 0.0));
        check(checks, "p999AckMillis", p.p999AckMillis(), ingest.getJsonObject("ackMillis").getDouble("p99.9", 0.0));
        check(checks, "drainRatio", p.drainRatio(), epic.getDouble("worstDrainRatio"));
        check(checks, "e2eP99Millis", p.e2eP99Millis(), epic.getJsonObject("e2eMillis").getDouble("p99", 0.0));
        boolean passed = checks.stream().allMatch(c -> ((JsonObject) c).getBoolean("ok"));
        return new JsonObject().put("passed", passed).put("checks", checks);
    }

    private static void check(JsonArray checks, String name, double limit, double value) {
        if (limit < 0) {
            return;
        }
        checks.add(new JsonObject().put("criterion", name).put("max", limit).put("measured", value).put("ok", value <= limit));
    }

    // ---- HTML

    /** The self-contained HTML page for a report. */
    public static String html(JsonObject r) {
        StringBuilder b = new StringBuilder();
        JsonObject sc = r.getJsonObject("scenario");
        JsonObject pass = r.getJsonObject("pass");
        b.append("<!doctype html><html><head><meta charset=\"utf-8\"><title>loadtest ").append(esc(sc.getString("name")))
                .append("</title><style>body{font:14px system-ui,sans-serif;margin:24px;max-width:1100px}"
                        + "table{border-collapse:collapse;margin:8px 0 20px}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}"
                        + "th{background:#f4f4f4}td:first-child,th:first-child{text-align:left}.ok{color:#176b17}.bad{color:#b00020;font-weight:bold}"
                        + "tr.note td{text-align:left;color:#555;font-size:12px;border-top:none;padding-top:0}"
                        + "p.note{color:#555;font-size:12px;margin:0;max-width:960px}table.envs td:first-child{white-space:nowrap}"
                        + "svg{background:#fff;border:1px solid #ddd;margin:4px 0 18px}h2{margin-top:28px}</style></head><body>");
        b.append("<h1>Load test: ").append(esc(sc.getString("name"))).append(" — <span class=\"")
                .append(pass.getBoolean("passed") ? "ok\">PASSED" : "bad\">FAILED").append("</span></h1>");
        b.append("<p>").append(esc(sc.getString("description"))).append("</p><p>Started ").append(esc(r.getString("startedAt")))
                .append(" on ").append(r.getJsonObject("machine").getInteger("cores")).append(" cores. ")
                .append(sc.getInteger("devices")).append(" devices over ").append(fmt(sc.getDouble("seconds"))).append(" s (")
                .append(esc(sc.getString("profile"))).append("), ").append(sc.getInteger("environments"))
                .append(" environments at ").append(fmt(sc.getDouble("rateLimitPerSecond"))).append("/s, burst ")
                .append(sc.getInteger("burst")).append(", batch ").append(sc.getInteger("batchSize")).append(".</p>");
        b.append("<h2>Pass criteria</h2><table><tr><th>criterion</th><th>measured</th><th></th></tr>");
        for (Object o : pass.getJsonArray("checks")) {
            JsonObject c = (JsonObject) o;
            String key = c.getString("criterion");
            b.append("<tr><td title=\"report.json: ").append(esc(key)).append("\">")
                    .append(esc(ReportText.criterion(key, c.getDouble("max")))).append("</td><td>")
                    .append(esc(ReportText.measured(key, c.getDouble("measured")))).append("</td><td class=\"")
                    .append(c.getBoolean("ok") ? "ok\">ok" : "bad\">FAILED").append("</td></tr>");
        }
        b.append("</table>");
        summary(b, r);
        charts(b, r);
        environments(b, r.getJsonArray("environments"));
        return b.append("<p>All numbers are in report.json next to this file.</p></body></html>").toString();
    }

    private static void summary(StringBuilder b, JsonObject r) {
        JsonObject ingest = r.getJsonObject("ingest");
        JsonObject ackMs = ingest.getJsonObject("ackMillis");
        JsonObject epic = r.getJsonObject("epic");
        b.append("<h2>Summary</h2><table><tr><th>what</th><th>value</th></tr>");
        row(b, "requests sent / ok / errors", ingest.getLong("requestsSent") + " / " + ingest.getLong("requestsOk") + " / " + ingest.getLong("errors"));
        row(b, "arrivals dropped (driver could not keep up)", Long.toString(ingest.getLong("droppedArrivals")));
        row(b, "achieved requests/s", fmt(ingest.getDouble("achievedRequestsPerSecond")));
        row(b, "ack latency p50 / p99 / p99.9 / max (ms, from intended send time)", ackMs.getLong("count", 0L) == 0 ? "–"
                : fmt(ackMs.getDouble("p50")) + " / " + fmt(ackMs.getDouble("p99")) + " / " + fmt(ackMs.getDouble("p99.9"))
                + " / " + fmt(ackMs.getDouble("p100")));
        row(b, "duplicate re-sends confirmed / sent", ingest.getLong("duplicateResendsConfirmed") + " / " + ingest.getLong("duplicateResends"));
        row(b, "invalid requests refused / sent", ingest.getLong("invalidRefused") + " / " + ingest.getLong("invalidSent"));
        row(b, "check-ins accepted, due a call, called", epic.getLong("acceptedCheckIns") + ", " + epic.getLong("dueCalls") + ", " + epic.getLong("called"));
        note(b, ReportText.calledBeyondDue(epic));
        row(b, "lost / duplicates / calls after check-out", epic.getLong("lost") + " / " + epic.getLong("duplicates") + " / " + epic.getLong("callsAfterCheckOut"));
        row(b, "Epic answers 429 / 503 (push-back, failures, outage)", epic.getLong("rateLimited429") + " / " + epic.getLong("failed503"));
        JsonObject e2e = epic.getJsonObject("e2eMillis");
        row(b, "check-in → Epic call p50 / p99 / max (ms)", e2e.getLong("count", 0L) == 0 ? "–"
                : fmt(e2e.getDouble("p50")) + " / " + fmt(e2e.getDouble("p99")) + " / " + fmt(e2e.getDouble("p100")));
        note(b, ReportText.e2eSeconds(epic, r.getJsonArray("environments")));
        row(b, "drain after the last request (s)", fmt(r.getJsonObject("drain").getDouble("secondsAfterLastRequest")));
        JsonObject base = r.getJsonObject("baseline");
        if (base != null) {
            row(b, "bare PostgreSQL (same server, 100-row insert transactions)", fmt(base.getDouble("rowsPerSecond")) + " rows/s");
            row(b, "gateway ingest in this run, and its ratio to that", fmt(base.getDouble("gatewayEventsPerSecond"))
                    + " events/s = " + String.format(Locale.ROOT, "%.3f", base.getDouble("ratio")));
            note(b, ReportText.ingestRatio(ingest));
        }
        b.append("</table>");
    }

    /** The charts; every time chart on one {@link Axis#time} axis, from the start of sending to the end of the drain. */
    private static void charts(StringBuilder b, JsonObject r) {
        JsonObject ingest = r.getJsonObject("ingest");
        JsonObject drain = r.getJsonObject("drain");
        long start = ingest.getLong("startEpochMillis");
        long drainedAt = drain.getLong("drainedAtEpochMillis");
        Axis time = Axis.time(ingest.getDouble("sendSeconds"), (drainedAt - start) / 1000.0);
        List<double[]> offered = new ArrayList<>();
        List<double[]> achieved = new ArrayList<>();
        List<double[]> p50 = new ArrayList<>();
        List<double[]> p99 = new ArrayList<>();
        List<double[]> depth = new ArrayList<>();
        for (Object o : r.getJsonArray("series")) {
            JsonObject x = (JsonObject) o;
            double t = x.getInteger("second");
            offered.add(new double[] {t, x.getLong("offered")});
            achieved.add(new double[] {t, x.getLong("ok")});
            if (x.getDouble("ackP50Millis") != null) {
                p50.add(new double[] {t, x.getDouble("ackP50Millis")});
                p99.add(new double[] {t, x.getDouble("ackP99Millis")});
            }
            if (x.getLong("queueDepth") != null) {
                depth.add(new double[] {t, x.getLong("queueDepth")});
            }
        }
        List<double[]> open = new ArrayList<>();
        for (Object o : drain.getJsonArray("samples", new JsonArray())) {
            JsonObject x = (JsonObject) o;
            open.add(new double[] {(x.getLong("atEpochMillis") - start) / 1000.0, x.getLong("openJobs")});
        }
        b.append("<h2>Offered vs achieved ingest (requests per second)</h2>")
                .append(Svg.lines(time, "req/s", List.of(offered, achieved), List.of("offered", "achieved (2xx/4xx as expected)"), null));
        b.append("<h2>Ack latency per second (ms)</h2>").append(Svg.lines(time, "ms", List.of(p50, p99), List.of("p50", "p99"), null));
        b.append("<h2>Queue depth (jobs, all test environments)</h2><p class=\"note\">While sending: the gateway's "
                        + "rlg_queue_depth gauge, which it refreshes every metrics.queueStatsInterval (5 s by default), so it "
                        + "steps and lags. During the drain: jobs queued or being sent, as the driver reads them (GET /admin/queue) "
                        + "until none is left.</p>")
                .append(Svg.lines(time, "jobs", List.of(depth, open), List.of("queued (gauge)", "queued or being sent (drain)"), null));
        long startSecond = start / 1000;
        int shown = 0;
        for (Object o : r.getJsonArray("environments")) {
            if (shown++ >= 6) {
                break;
            }
            JsonObject e = (JsonObject) o;
            JsonObject ps = e.getJsonObject("callsPerSecond");
            List<double[]> rate = new ArrayList<>();
            for (long sec = startSecond; sec <= drainedAt / 1000; sec++) {
                rate.add(new double[] {Math.max(0, sec - start / 1000.0), ps.getLong(Long.toString(sec), 0L)});
            }
            b.append("<h2>Epic calls per second: ").append(esc(e.getString("environmentId"))).append("</h2>")
                    .append(Svg.lines(time, "calls/s", List.of(rate), List.of("calls at Epic"),
                            e.getDouble("limitPerSecond") + e.getInteger("burst")));
        }
        List<double[]> dist = new ArrayList<>();
        double maxX = 0;
        for (Object o : r.getJsonArray("ackDistribution")) {
            JsonObject x = (JsonObject) o;
            double pct = x.getDouble("percentile");
            if (pct < 100) {
                dist.add(new double[] {Math.log10(100 / (100 - pct)), x.getDouble("millis")});
                maxX = Math.max(maxX, dist.get(dist.size() - 1)[0]);
            }
        }
        b.append("<h2>Ack latency by percentile (HdrHistogram, every request)</h2>")
                .append(Svg.lines(Axis.percentile(maxX), "ms", List.of(dist), List.of("ack latency"), null));
    }

    private static void environments(StringBuilder b, JsonArray envs) {
        b.append("<h2>Per environment</h2><table class=\"envs\"><tr><th>environment</th><th>devices</th><th>accepted</th><th>due</th><th>called</th>"
                + "<th>lost</th><th>dup</th><th>after check-out</th><th>max in any second</th><th>limit+burst</th>"
                + "<th>mean rate</th><th>drain ratio</th><th>e2e p99 ms</th></tr>");
        for (Object o : envs) {
            JsonObject e = (JsonObject) o;
            b.append("<tr><td>").append(esc(e.getString("environmentId"))).append("</td><td>").append(e.getLong("devices"))
                    .append("</td><td>").append(e.getLong("acceptedCheckIns")).append("</td><td>").append(e.getLong("dueCalls"))
                    .append("</td><td>").append(e.getLong("called")).append("</td><td>").append(e.getLong("lost"))
                    .append("</td><td>").append(e.getLong("duplicates")).append("</td><td>").append(e.getLong("callsAfterCheckOut"))
                    .append("</td><td>").append(e.getLong("maxInAnySecond")).append("</td><td>")
                    .append(fmt(e.getDouble("limitPerSecond") + e.getInteger("burst"))).append("</td><td>")
                    .append(fmt(e.getDouble("meanRate"))).append("</td><td>").append(fmt(e.getDouble("drainRatio")))
                    .append("</td><td>").append(e.getJsonObject("e2eMillis").getLong("count", 0L) == 0 ? "–"
                            : fmt(e.getJsonObject("e2eMillis").getDouble("p99"))).append("</td></tr>");
        }
        b.append("</table>");
    }

    /** A one-line explanation under the row before it, if there is one. */
    private static void note(StringBuilder b, String text) {
        if (text != null) {
            b.append("<tr class=\"note\"><td colspan=\"2\">").append(esc(text)).append("</td></tr>");
        }
    }

    private static void row(StringBuilder b, String what, String value) {
        b.append("<tr><td>").append(esc(what)).append("</td><td>").append(esc(value)).append("</td></tr>");
    }

    static String fmt(double v) {
        return v == Math.rint(v) && Math.abs(v) < 1e12 ? Long.toString((long) v) : String.format(Locale.ROOT, "%.2f", v);
    }

    static String esc(String s) {
        return s == null ? "" : s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
