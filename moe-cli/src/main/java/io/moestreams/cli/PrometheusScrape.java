package io.moestreams.cli;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The samples of a Prometheus text-format scrape (what {@code /metrics} of the services serves), for {@code moe top}. */
final class PrometheusScrape {

    /** One sample: metric name, labels, value. */
    record Sample(String name, Map<String, String> labels, double value) {}

    private final List<Sample> samples;

    PrometheusScrape(List<Sample> samples) {
        this.samples = List.copyOf(samples);
    }

    /** Fetches and parses {@code url} (an endpoint's {@code /metrics}); an unreachable one yields no samples. */
    static PrometheusScrape fetch(HttpClient http, String url) {
        try {
            HttpResponse<String> r = http.send(
                    HttpRequest.newBuilder(URI.create(url))
                            .timeout(Duration.ofSeconds(3))
                            .build(),
                    HttpResponse.BodyHandlers.ofString());
            return r.statusCode() == 200 ? parse(r.body()) : new PrometheusScrape(List.of());
        } catch (IOException | IllegalArgumentException e) {
            return new PrometheusScrape(List.of());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new PrometheusScrape(List.of());
        }
    }

    /** Parses the text exposition format (comments skipped; label values without escapes beyond \" and \\). */
    static PrometheusScrape parse(String text) {
        List<Sample> out = new ArrayList<>();
        for (String line : text.split("\n")) {
            String l = line.trim();
            if (l.isEmpty() || l.startsWith("#")) {
                continue;
            }
            int brace = l.indexOf('{');
            int space;
            String name;
            Map<String, String> labels = new LinkedHashMap<>();
            if (brace >= 0 && brace < l.indexOf(' ')) {
                name = l.substring(0, brace);
                int close = l.indexOf('}', brace);
                parseLabels(l.substring(brace + 1, close), labels);
                space = close + 1;
            } else {
                space = l.indexOf(' ');
                name = l.substring(0, space);
            }
            String[] rest = l.substring(space).trim().split("\\s+");
            try {
                out.add(new Sample(name, labels, Double.parseDouble(rest[0])));
            } catch (NumberFormatException e) {
                // NaN spellings Java does not know, e.g. "+Inf" is known; skip anything else
            }
        }
        return new PrometheusScrape(out);
    }

    private static void parseLabels(String s, Map<String, String> labels) {
        int i = 0;
        while (i < s.length()) {
            int eq = s.indexOf('=', i);
            if (eq < 0) {
                return;
            }
            String key = s.substring(i, eq).trim().replaceFirst("^,", "").trim();
            int q = s.indexOf('"', eq);
            StringBuilder v = new StringBuilder();
            int j = q + 1;
            for (; j < s.length() && s.charAt(j) != '"'; j++) {
                if (s.charAt(j) == '\\' && j + 1 < s.length()) {
                    j++;
                }
                v.append(s.charAt(j));
            }
            labels.put(key, v.toString());
            i = j + 1;
        }
    }

    /** The sum of {@code name}'s samples per value of {@code label} (all samples under key "" if label is null). */
    Map<String, Double> sumBy(String name, String label) {
        Map<String, Double> m = new LinkedHashMap<>();
        for (Sample s : samples) {
            if (s.name().equals(name)) {
                String k = label == null ? "" : s.labels().getOrDefault(label, "");
                m.merge(k, s.value(), Double::sum);
            }
        }
        return m;
    }

    List<Sample> samples() {
        return samples;
    }

    /** Several scrapes as one (sums add up across replicas). */
    static PrometheusScrape merge(List<PrometheusScrape> scrapes) {
        List<Sample> all = new ArrayList<>();
        scrapes.forEach(s -> all.addAll(s.samples));
        return new PrometheusScrape(all);
    }
}
