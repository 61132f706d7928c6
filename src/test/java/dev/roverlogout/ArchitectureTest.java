package dev.roverlogout;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * Dependencies flow one way (docs/architecture.md): a request travels ingest → store, a lane store → epic → store,
 * the servers in {@code http} mount routes they do not know, and the packages at the bottom import none of ours.
 * Read from the sources, as {@code grep '^import dev.roverlogout'} would.
 */
class ArchitectureTest {
    private static final Path MAIN = Path.of("src", "main", "java", "dev", "roverlogout");
    private static final Pattern IMPORT = Pattern.compile("(?m)^import (?:static )?dev\\.roverlogout\\.(\\w+)\\.");

    /** Which of our packages each package may import. */
    private static final Map<String, Set<String>> ALLOWED = Map.ofEntries(
            Map.entry("config", Set.of()),
            Map.entry("lifecycle", Set.of()),
            Map.entry("metrics", Set.of()),
            Map.entry("http", Set.of("config", "metrics", "lifecycle")),
            Map.entry("store", Set.of("config", "lifecycle")),
            Map.entry("ingest", Set.of("config", "http", "store", "metrics", "lifecycle")),
            Map.entry("epic", Set.of("config", "http", "store", "metrics", "lifecycle")),
            Map.entry("dispatch", Set.of("config", "store", "epic", "metrics", "lifecycle")),
            Map.entry("maintenance", Set.of("config", "store", "metrics", "lifecycle")),
            Map.entry("auth", Set.of("config", "http", "lifecycle")),
            Map.entry("admin", Set.of("config", "http", "store", "epic", "auth")),
            Map.entry("console", Set.of("config", "http")),
            Map.entry("sim", Set.of("config", "epic")),
            Map.entry("loadtest", Set.of()));

    @Test
    @DisplayName("no package imports one it must not: http knows no routes, store no ingest, ingest and admin not each other")
    void dependenciesFlowOneWay() throws IOException {
        List<String> violations = new ArrayList<>();
        try (Stream<Path> files = Files.walk(MAIN)) {
            for (Path file : files.filter(f -> f.toString().endsWith(".java")).toList()) {
                Path relative = MAIN.relativize(file);
                if (relative.getNameCount() == 1) {
                    continue; // Main, Gateway, Components: the composition root may import everything
                }
                String pkg = relative.getName(0).toString();
                assertThat(ALLOWED).as("a rule for package " + pkg).containsKey(pkg);
                Matcher m = IMPORT.matcher(Files.readString(file));
                while (m.find()) {
                    String target = m.group(1);
                    if (!target.equals(pkg) && !ALLOWED.get(pkg).contains(target)) {
                        violations.add(relative + " imports " + target);
                    }
                }
            }
        }
        assertThat(violations).isEmpty();
    }
}
