package dev.roverlogout;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import dev.roverlogout.config.ConfigException;
import dev.roverlogout.config.ConfigLoader;
import dev.roverlogout.config.GatewayConfig;
import dev.roverlogout.lifecycle.StartFailure;
import io.vertx.core.Future;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** Entry point. Exit codes (contract §2): 0 ok, 2 bad usage or configuration, 1 runtime failure. */
@Command(name = "rover-logout-gateway", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Rover Logout Gateway: turns locker check-ins into Epic DisassociateMobileDevice calls.",
        subcommands = {Main.Serve.class, EpicSimCommand.class, LoadtestCommand.class, Main.DemoCommand.class})
public final class Main implements Callable<Integer> {
    public static final int EXIT_OK = 0;
    public static final int EXIT_RUNTIME = 1;
    public static final int EXIT_USAGE = 2;

    public static void main(String[] args) {
        System.setProperty("vertx.logger-delegate-factory-class-name", "io.vertx.core.logging.SLF4JLogDelegateFactory");
        System.exit(commandLine().execute(args));
    }

    static CommandLine commandLine() {
        return new CommandLine(new Main())
                .setExitCodeExceptionMapper(e -> e instanceof CommandLine.ParameterException ? EXIT_USAGE : EXIT_RUNTIME);
    }

    /** No subcommand: serve with default options. */
    @Override
    public Integer call() {
        return new Serve().call();
    }

    @Command(name = "serve", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
            description = "Run the gateway (the default command).")
    static final class Serve implements Callable<Integer> {
        @Option(names = "--config", paramLabel = "FILE",
                description = "configuration file (default: conf/gateway.yaml if present, else built-in defaults)")
        Path config;

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            PrintWriter err = spec == null ? new PrintWriter(System.err, true) : spec.commandLine().getErr();
            GatewayConfig cfg;
            try {
                cfg = ConfigLoader.load(Optional.ofNullable(config), System.getenv());
            } catch (ConfigException e) {
                err.println("rover-logout-gateway: configuration error: " + e.getMessage());
                err.flush();
                return EXIT_USAGE;
            }
            Logging.apply(cfg.loggingFormat());
            Gateway gateway;
            try {
                gateway = join(Gateway.start(cfg), TimeUnit.MINUTES.toMillis(5));
            } catch (Exception e) {
                Throwable cause = e instanceof java.util.concurrent.ExecutionException ? e.getCause() : e;
                err.println("rover-logout-gateway: cannot start: " + StartFailure.in(cause).map(Throwable::getMessage)
                        .orElse(String.valueOf(cause)));
                err.flush();
                return EXIT_RUNTIME;
            }
            return runUntilSignal(gateway::stop, Gateway.shutdownWaitMillis(cfg), "rover-logout-gateway");
        }
    }

    @Command(name = "demo", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
            description = {"Run the gateway on an embedded database next to a simulated Epic, with a sandbox",
                    "environment already READY, and print curl commands that turn a check-in into an Epic call."})
    static final class DemoCommand implements Callable<Integer> {
        @Option(names = "--config", paramLabel = "FILE",
                description = "gateway configuration (default: conf/gateway.yaml if present); the demo always uses "
                        + "its own embedded database and generated tokens in --data-dir")
        Path config;

        @Option(names = "--data-dir", paramLabel = "DIR", defaultValue = "data/demo",
                description = "where the demo keeps its database and tokens (default: ${DEFAULT-VALUE})")
        Path dataDir;

        @Option(names = "--sim-port", defaultValue = "9090", description = "simulated Epic's port (default: ${DEFAULT-VALUE}; 0 = any)")
        int simPort;

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            PrintWriter err = spec.commandLine().getErr();
            GatewayConfig cfg;
            try {
                cfg = Demo.config(Optional.ofNullable(config), System.getenv(), dataDir);
            } catch (ConfigException e) {
                err.println("rover-logout-gateway demo: configuration error: " + e.getMessage());
                err.flush();
                return EXIT_USAGE;
            }
            Demo demo;
            try {
                demo = Demo.start(cfg, simPort);
            } catch (Exception e) {
                Throwable cause = e instanceof java.util.concurrent.ExecutionException ? e.getCause() : e;
                err.println("rover-logout-gateway demo: cannot start: " + StartFailure.in(cause).map(Throwable::getMessage)
                        .orElse(String.valueOf(cause)));
                err.flush();
                return EXIT_RUNTIME;
            }
            spec.commandLine().getOut().println(demo.instructions(dataDir));
            spec.commandLine().getOut().flush();
            return runUntilSignal(demo::stop, Gateway.shutdownWaitMillis(cfg), "rover-logout-gateway demo");
        }
    }

    /**
     * Blocks the main thread until SIGTERM or SIGINT, then runs {@code stop} (waiting at most {@code waitMillis}) and
     * answers exit code 0 — or 1 when the stop was not clean. The signals are handled here rather than by the JVM's
     * default (which runs the shutdown hooks and exits 143 whatever happened): Kubernetes and scripts then see a
     * graceful stop as a success. A shutdown hook still stops gracefully if the JVM ends any other way.
     */
    static int runUntilSignal(java.util.function.Supplier<Future<Void>> stop, long waitMillis, String name) {
        CompletableFuture<Void> signalled = new CompletableFuture<>();
        CompletableFuture<Boolean> stopped = new CompletableFuture<>();
        java.util.concurrent.atomic.AtomicBoolean stopping = new java.util.concurrent.atomic.AtomicBoolean();
        // the first caller runs the stop; any other (the hook after SIGHUP or System.exit during a SIGTERM stop)
        // waits for that same stop, so the JVM never ends in the middle of a drain
        java.util.function.BooleanSupplier stopOnce = () -> {
            if (stopping.compareAndSet(false, true)) {
                try {
                    join(stop.get(), waitMillis);
                    stopped.complete(true);
                } catch (Exception e) {
                    System.err.println(name + ": unclean stop: " + e);
                    stopped.complete(false);
                }
            }
            try {
                return stopped.get(waitMillis + 1000, TimeUnit.MILLISECONDS);
            } catch (Exception e) {
                return false;
            }
        };
        // first, so that a graceful stop happens however the JVM ends (also when the signals cannot be handled)
        Runtime.getRuntime().addShutdownHook(new Thread(stopOnce::getAsBoolean, "rlg-shutdown"));
        try {
            for (String signal : List.of("TERM", "INT")) {
                sun.misc.Signal.handle(new sun.misc.Signal(signal), s -> signalled.complete(null));
            }
        } catch (IllegalArgumentException e) {
            // the JVM runs with -Xrs or the platform reserves the signal: System.exit still stops gracefully (the
            // hook), a signal then ends the process the JVM's way
            System.err.println(name + ": cannot handle SIGTERM/SIGINT (" + e.getMessage() + "); a stop by signal "
                    + "will not drain");
        }
        signalled.join();
        return stopOnce.getAsBoolean() ? EXIT_OK : EXIT_RUNTIME;
    }

    /**
     * Waits on the main or shutdown-hook thread (never an event loop) for a start-up or shutdown step.
     */
    static <T> T join(Future<T> future, long timeoutMillis) throws Exception {
        CompletableFuture<T> result = new CompletableFuture<>();
        future.onComplete(ar -> {
            if (ar.succeeded()) {
                result.complete(ar.result());
            } else {
                result.completeExceptionally(ar.cause());
            }
        });
        return result.get(timeoutMillis, TimeUnit.MILLISECONDS);
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Main.class.getPackage().getImplementationVersion();
            return new String[] {"rover-logout-gateway " + (v == null ? "dev" : v)};
        }
    }
}
