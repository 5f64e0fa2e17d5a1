package io.moestreams.schemas.metrics;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** The README's meter table and the Grafana dashboard against the catalogue, so neither drifts from the code. */
class MoeMeterDocsTest {

    /** What Micrometer's Prometheus registry appends to a meter's name, per kind. */
    private static final List<String> SUFFIXES = List.of(
            "",
            "_total",
            "_seconds",
            "_seconds_count",
            "_seconds_sum",
            "_seconds_max",
            "_seconds_bucket",
            "_count",
            "_sum",
            "_max",
            "_bucket");

    private static Path repoFile(String name) {
        // tests run in the module directory; the repository root is its parent
        Path p = Path.of("..").resolve(name);
        assertTrue(Files.exists(p), "expected " + p.toAbsolutePath());
        return p;
    }

    @Test
    void everyMeterIsInTheReadmeObservabilityTable() throws Exception {
        String readme = Files.readString(repoFile("README.md"), StandardCharsets.UTF_8);
        int from = readme.indexOf("## Observability");
        assertTrue(from >= 0, "README has an Observability section");
        String section = readme.substring(from);
        for (MoeMeter m : MoeMeter.values()) {
            assertTrue(
                    section.contains("`" + m.meterName() + "`") || section.contains("`" + m.meterName() + "{"),
                    "README, Observability: " + m.meterName() + " (" + m.description() + ") is not in the meter table");
        }
    }

    @Test
    void everyMoeMetricTheDashboardQueriesIsACataloguedMeter() throws Exception {
        String dashboard =
                Files.readString(repoFile("docker/grafana/dashboards/moe-streams.json"), StandardCharsets.UTF_8);
        Set<String> queried = new TreeSet<>();
        Matcher x = Pattern.compile("\\b(moe_[a-z0-9_]+)").matcher(dashboard);
        while (x.find()) {
            queried.add(x.group(1));
        }
        assertTrue(queried.size() >= 8, "metrics queried: " + queried);
        for (String q : queried) {
            boolean known = false;
            for (MoeMeter m : MoeMeter.values()) {
                String base = m.meterName().replace('.', '_');
                known |= q.startsWith(base) && SUFFIXES.contains(q.substring(base.length()));
            }
            assertTrue(known, "the dashboard queries " + q + ", which is no meter of MoeMeter");
        }
    }
}
