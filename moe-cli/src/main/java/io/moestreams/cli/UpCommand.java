package io.moestreams.cli;

import io.moestreams.embedded.EmbeddedStack;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;

/** {@code moe up}: the embedded broker and registry in the foreground until Ctrl-C. */
@Command(
        name = "up",
        mixinStandardHelpOptions = true,
        description =
                "Start an embedded Kafka broker (KRaft) and schema registry in the foreground; Ctrl-C stops both.")
final class UpCommand implements Callable<Integer> {

    @Override
    public Integer call() throws Exception {
        long t0 = System.nanoTime();
        EmbeddedStack stack = EmbeddedStack.start();
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime()
                .addShutdownHook(new Thread(
                        () -> {
                            System.err.println("moe up: stopping the broker and the registry...");
                            stack.close();
                            stopped.countDown();
                        },
                        "moe-up-shutdown"));
        System.out.println("bootstrap servers: " + stack.bootstrapServers());
        System.out.println("schema registry:   " + stack.schemaRegistryUrl());
        System.out.printf("ready in %.1f s; press Ctrl-C to stop%n", (System.nanoTime() - t0) / 1e9);
        System.out.flush();
        stopped.await();
        return 0;
    }
}
