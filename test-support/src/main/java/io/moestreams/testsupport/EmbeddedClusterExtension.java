package io.moestreams.testsupport;

import io.moestreams.embedded.EmbeddedStack;
import io.moestreams.embedded.SharedStack;
import java.util.Optional;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolutionException;
import org.junit.jupiter.api.extension.ParameterResolver;
import org.junit.platform.commons.support.AnnotationSupport;

/**
 * The JUnit 5 extension behind {@link EmbeddedCluster}: resolves parameters of type {@link EmbeddedStack}. The
 * stack is started on first use: the JVM-wide one ({@link SharedStack}, stopped at JVM exit) or, with
 * {@link EmbeddedCluster.Scope#PER_CLASS}, one kept in the test class's extension store, which JUnit closes when
 * the class is done.
 *
 * <p>Can also be registered alone with {@code @ExtendWith(EmbeddedClusterExtension.class)}: the stack is then the
 * shared one.
 */
public final class EmbeddedClusterExtension implements ParameterResolver {

    private static final ExtensionContext.Namespace NAMESPACE =
            ExtensionContext.Namespace.create(EmbeddedClusterExtension.class);

    @Override
    public boolean supportsParameter(ParameterContext parameter, ExtensionContext context) {
        return parameter.getParameter().getType() == EmbeddedStack.class;
    }

    @Override
    public Object resolveParameter(ParameterContext parameter, ExtensionContext context) {
        try {
            return stackFor(context);
        } catch (RuntimeException e) {
            throw new ParameterResolutionException(
                    "could not start the embedded cluster (KRaft broker + Apicurio registry) for "
                            + context.getRequiredTestClass().getName() + ": " + e.getMessage(),
                    e);
        }
    }

    /** The stack of the test class of {@code context}, started if need be. */
    static EmbeddedStack stackFor(ExtensionContext context) {
        Class<?> testClass = context.getRequiredTestClass();
        if (scopeOf(testClass) == EmbeddedCluster.Scope.SHARED) {
            return SharedStack.get();
        }
        ExtensionContext classContext = outermostClassContext(context);
        return classContext
                .getStore(NAMESPACE)
                .getOrComputeIfAbsent(
                        classContext.getRequiredTestClass(), k -> EmbeddedStack.start(), EmbeddedStack.class);
    }

    static EmbeddedCluster.Scope scopeOf(Class<?> testClass) {
        for (Class<?> c = testClass; c != null; c = c.getEnclosingClass()) {
            Optional<EmbeddedCluster> annotation = AnnotationSupport.findAnnotation(c, EmbeddedCluster.class);
            if (annotation.isPresent()) {
                return annotation.get().value();
            }
        }
        return EmbeddedCluster.Scope.SHARED;
    }

    /** The context of the outermost test class, so that nested classes share their outer class's stack. */
    private static ExtensionContext outermostClassContext(ExtensionContext context) {
        ExtensionContext found = context;
        for (ExtensionContext c = context; c != null; c = c.getParent().orElse(null)) {
            if (c.getTestClass().isPresent()) {
                found = c;
            }
        }
        return found;
    }
}
