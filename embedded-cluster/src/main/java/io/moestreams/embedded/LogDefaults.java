package io.moestreams.embedded;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Map;
import java.util.Properties;

/**
 * Quietens the broker's own logging when slf4j-simple is the binding: Kafka logs a lot at INFO
 * (configs, every partition state change). For each noisy logger the level becomes WARN (the controller's
 * ERROR) unless the application already chose a level, either as a system property or in
 * {@code simplelogger.properties}.
 * Must run before the first Kafka class creates its logger; has no effect with other bindings.
 */
final class LogDefaults {

    private static final String PREFIX = "org.slf4j.simpleLogger.log.";
    private static final Map<String, String> NOISY = Map.of(
            "kafka", "warn",
            "org.apache.kafka", "warn",
            "org.apache.zookeeper", "warn",
            "state.change.logger", "warn",
            // warns "the metadata log appears to be empty" on every start of a freshly formatted broker
            "org.apache.kafka.controller.QuorumController", "error");

    private LogDefaults() {}

    static synchronized void quietKafka() {
        Properties file = simpleLoggerFile();
        NOISY.forEach((logger, level) -> {
            String key = PREFIX + logger;
            if (System.getProperty(key) == null && file.getProperty(key) == null) {
                System.setProperty(key, level);
            }
        });
    }

    private static Properties simpleLoggerFile() {
        Properties properties = new Properties();
        ClassLoader loader = Thread.currentThread().getContextClassLoader();
        if (loader == null) {
            loader = LogDefaults.class.getClassLoader();
        }
        try (InputStream in = loader.getResourceAsStream("simplelogger.properties")) {
            if (in != null) {
                properties.load(in);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("could not read simplelogger.properties from the class path", e);
        }
        return properties;
    }
}
