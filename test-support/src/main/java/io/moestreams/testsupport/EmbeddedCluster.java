package io.moestreams.testsupport;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Inherited;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Marks an integration test class that runs against the embedded cluster: a real KRaft Kafka broker and a real
 * Apicurio schema registry ({@link io.moestreams.embedded.EmbeddedStack}). The test receives the stack as a
 * parameter of type {@code EmbeddedStack} (constructor, lifecycle or test method); nothing is mocked.
 *
 * <pre>{@code
 * @EmbeddedCluster
 * class MyIT {
 *     @Test
 *     void sendsAndReceives(EmbeddedStack cluster) { ... cluster.bootstrapServers() ... }
 * }
 * }</pre>
 *
 * The class is also tagged {@code integration}.
 */
@Target(ElementType.TYPE)
@Retention(RetentionPolicy.RUNTIME)
@Documented
@Inherited
@Tag("integration")
@ExtendWith(EmbeddedClusterExtension.class)
public @interface EmbeddedCluster {

    /** Which stack the test class gets. */
    Scope value() default Scope.SHARED;

    /** How long the injected stack lives. */
    enum Scope {
        /**
         * One stack for the whole test JVM (the one of {@link io.moestreams.embedded.SharedStack}), started by the
         * first test class that asks for it. Tests must not rely on an empty cluster: unique topic names,
         * subjects and consumer groups.
         */
        SHARED,
        /** A stack of this test class alone, started before its first test and stopped after its last. */
        PER_CLASS
    }
}
