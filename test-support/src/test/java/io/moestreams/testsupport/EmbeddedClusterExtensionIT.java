package io.moestreams.testsupport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

import io.moestreams.embedded.EmbeddedStack;
import java.net.HttpURLConnection;
import java.net.URI;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.platform.launcher.Launcher;
import org.junit.platform.launcher.LauncherDiscoveryRequest;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;
import org.junit.platform.launcher.listeners.SummaryGeneratingListener;
import org.junit.platform.launcher.listeners.TestExecutionSummary;

/** The extension against the real embedded cluster: what a test class receives, and when it is stopped. */
@Tag("integration")
@ExtendWith(EmbeddedClusterExtension.class)
@Timeout(value = 10, unit = TimeUnit.MINUTES)
class EmbeddedClusterExtensionIT {

    /** Stacks received by {@link PerClassProbe}, in order: @BeforeAll, then each test. */
    static final List<EmbeddedStack> RECEIVED = new CopyOnWriteArrayList<>();

    /** Run by the launcher below, not by failsafe (nested classes are not discovered on their own). */
    @EmbeddedCluster(EmbeddedCluster.Scope.PER_CLASS)
    static class PerClassProbe {

        @BeforeAll
        static void before(EmbeddedStack cluster) {
            RECEIVED.add(cluster);
        }

        @Test
        void first(EmbeddedStack cluster) throws Exception {
            RECEIVED.add(cluster);
            assertBrokerAndRegistryAnswer(cluster);
        }

        @Test
        void second(EmbeddedStack cluster) {
            RECEIVED.add(cluster);
        }
    }

    @Test
    void aPerClassStackIsStartedOnceSharedByTheClassAndStoppedAfterIt() {
        // Given a test class asking for its own stack in @BeforeAll and in two tests
        RECEIVED.clear();
        LauncherDiscoveryRequest request = LauncherDiscoveryRequestBuilder.request()
                .selectors(selectClass(PerClassProbe.class))
                .build();
        Launcher launcher = LauncherFactory.create();
        SummaryGeneratingListener listener = new SummaryGeneratingListener();

        // When JUnit runs it
        launcher.execute(request, listener);

        // Then both tests passed, all three received the same stack, and its registry is gone afterwards
        TestExecutionSummary summary = listener.getSummary();
        assertEquals(2, summary.getTestsSucceededCount(), () -> "failures: " + summary.getFailures());
        assertEquals(3, RECEIVED.size());
        assertSame(RECEIVED.get(0), RECEIVED.get(1));
        assertSame(RECEIVED.get(0), RECEIVED.get(2));
        long registryPid = RECEIVED.get(0).schemaRegistry().pid();
        assertFalse(
                ProcessHandle.of(registryPid).map(ProcessHandle::isAlive).orElse(false),
                "the registry process " + registryPid + " still runs after the class finished");
    }

    @Test
    void theSharedStackAnswers(EmbeddedStack cluster) throws Exception {
        // Given the stack shared by the JVM (this class registers the extension with its default scope)
        // When the broker and the registry are asked something
        // Then both answer
        assertBrokerAndRegistryAnswer(cluster);
    }

    static void assertBrokerAndRegistryAnswer(EmbeddedStack cluster) throws Exception {
        assertNotNull(cluster);
        try (Admin admin =
                Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, cluster.bootstrapServers()))) {
            assertFalse(
                    admin.describeCluster().nodes().get(30, TimeUnit.SECONDS).isEmpty());
        }
        HttpURLConnection connection = (HttpURLConnection)
                URI.create(cluster.schemaRegistryUrl() + "/subjects").toURL().openConnection();
        try {
            assertEquals(200, connection.getResponseCode(), "GET /subjects of the registry");
        } finally {
            connection.disconnect();
        }
    }
}
