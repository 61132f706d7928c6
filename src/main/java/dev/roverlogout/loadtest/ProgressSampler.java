package dev.roverlogout.loadtest;

import java.io.PrintStream;

import io.vertx.ext.web.client.WebClient;

/**
 * Once a second while sending: the queue depth and the Epic calls done, from the gateway's {@code /metrics}, into
 * the per-second series of the {@link SendBooks}, and a progress line. Runs on the driver's context, called by the
 * {@link OpenLoopSender}.
 */
final class ProgressSampler {
    private final WebClient http;
    private final Scenario s;
    private final Driver.Endpoints ep;
    private final String[] envIds;
    private final PrintStream out;

    ProgressSampler(WebClient http, Scenario scenario, Driver.Endpoints endpoints, String[] envIds, PrintStream out) {
        this.http = http;
        this.s = scenario;
        this.ep = endpoints;
        this.envIds = envIds;
        this.out = out;
    }

    void sample(SendBooks books, long elapsed) {
        Driver.Second now = books.second(elapsed);
        var seconds = books.seconds();
        Driver.Second last = seconds.size() > 1 ? seconds.get(Math.max(0, (int) (elapsed / 1000) - 1)) : now;
        http.getAbs(ep.managementUrl() + "/metrics").timeout(5000).send().onSuccess(r -> {
            long[] m = metrics(r.bodyAsString());
            now.queueDepth = m[0];
            now.disassociationsDone = m[1];
            long total = s.seconds() > 0 ? Math.round(s.seconds()) : 0;
            out.printf("[%4ds/%ds] offered %5d/s sent %5d/s ok %5d err %d dropped %d ack p99 %6.1f ms | queue %6d | "
                            + "Epic done %7d | sending ends in %ds%n", elapsed / 1000, total, last.offered, last.sent,
                    books.ok(), books.errors(), books.dropped(), last.ack.getValueAtPercentile(99) / 1000.0, m[0], m[1],
                    Math.max(0, total - elapsed / 1000));
        });
    }

    /** Sum over this run's environments of rlg_queue_depth and rlg_disassociations_total{outcome=done}. */
    private long[] metrics(String text) {
        long depth = 0;
        long done = 0;
        String prefix = "environment=\"lt-";
        for (String line : text.split("\n")) {
            if (!line.contains(prefix) || !ours(line)) {
                continue;
            }
            double v = Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            if (line.startsWith("rlg_queue_depth{")) {
                depth += (long) v;
            } else if (line.startsWith("rlg_disassociations_total{") && line.contains("outcome=\"done\"")) {
                done += (long) v;
            }
        }
        return new long[] {depth, done};
    }

    private boolean ours(String line) {
        for (String id : envIds) {
            if (line.contains("environment=\"" + id + "\"")) {
                return true;
            }
        }
        return false;
    }
}
