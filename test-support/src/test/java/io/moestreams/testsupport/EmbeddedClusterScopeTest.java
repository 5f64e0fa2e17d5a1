package io.moestreams.testsupport;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class EmbeddedClusterScopeTest {

    @EmbeddedCluster(EmbeddedCluster.Scope.PER_CLASS)
    static class OwnStack {
        static class Inner {}
    }

    @EmbeddedCluster
    static class Shared {}

    static class NotAnnotated {}

    @Test
    void aClassAnnotatedPerClassGetsItsOwnStackAndItsNestedClassesShareIt() {
        // Given a class annotated PER_CLASS and a class nested in it
        // When their scopes are read
        // Then both are PER_CLASS
        assertEquals(EmbeddedCluster.Scope.PER_CLASS, EmbeddedClusterExtension.scopeOf(OwnStack.class));
        assertEquals(EmbeddedCluster.Scope.PER_CLASS, EmbeddedClusterExtension.scopeOf(OwnStack.Inner.class));
    }

    @Test
    void theDefaultScopeIsTheStackSharedByTheJvm() {
        // Given a class annotated without a scope and a class that only registers the extension
        // When their scopes are read
        // Then both share the JVM's stack
        assertEquals(EmbeddedCluster.Scope.SHARED, EmbeddedClusterExtension.scopeOf(Shared.class));
        assertEquals(EmbeddedCluster.Scope.SHARED, EmbeddedClusterExtension.scopeOf(NotAnnotated.class));
    }
}
