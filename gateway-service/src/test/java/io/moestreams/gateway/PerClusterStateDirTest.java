package io.moestreams.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.util.Properties;
import org.apache.kafka.streams.StreamsConfig;
import org.junit.jupiter.api.Test;

/** The Streams state of each Kafka cluster lives in its own directory, so state from another cluster is never used. */
class PerClusterStateDirTest {

    @Test
    void anExplicitStateDirGetsOneSubdirectoryPerCluster() {
        // Given properties with a state directory
        Properties p = new Properties();
        p.put(StreamsConfig.STATE_DIR_CONFIG, "/var/lib/moe");

        // When they are bound to two clusters
        String a = GatewayApp.perCluster((Properties) p.clone(), "AbC123").getProperty(StreamsConfig.STATE_DIR_CONFIG);
        String b = GatewayApp.perCluster((Properties) p.clone(), "XyZ789").getProperty(StreamsConfig.STATE_DIR_CONFIG);

        // Then each cluster has its own directory under the configured one
        assertEquals(Path.of("/var/lib/moe", "cluster-AbC123").toString(), a);
        assertEquals(Path.of("/var/lib/moe", "cluster-XyZ789").toString(), b);
    }

    @Test
    void streamsDefaultStateDirIsUsedWhenNoneIsSet() {
        // Given no state directory
        Properties p = new Properties();

        // When bound to a cluster
        String dir = GatewayApp.perCluster(p, "c1").getProperty(StreamsConfig.STATE_DIR_CONFIG);

        // Then the state lives under Kafka Streams' default location (java.io.tmpdir/kafka-streams)
        assertEquals(
                Path.of(System.getProperty("java.io.tmpdir"), "kafka-streams", "cluster-c1")
                        .toString(),
                dir);
    }
}
