package io.moestreams.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code moe} command. */
@Command(
        name = "moe",
        mixinStandardHelpOptions = true,
        version = "moe-streams 0.1.0",
        description = "Mixture-of-Experts inference as a Kafka streaming platform.",
        subcommands = {
            DemoCommand.class,
            UpCommand.class,
            InferCommand.class,
            ReferenceCommand.class,
            RecordCommand.class,
            ReplayCommand.class,
            InspectCommand.class,
            GatewayCommand.class,
            InitTopicsCommand.class,
            AclCommand.class,
            SecureInitCommand.class,
            K8sCommand.class,
            PlanCommand.class,
            TopCommand.class,
            ExpertCommand.class,
            GenerateModelCommand.class,
            GenerateRequestsCommand.class,
            BenchCommand.class,
            FloorHopCommand.class,
            CommandLine.HelpCommand.class
        })
public final class MoeCli implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.err);
    }

    /** Builds the command line with the project's error handling; used by {@link #main} and tests. */
    public static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new MoeCli());
        cl.setExecutionExceptionHandler((ex, commandLine, parseResult) -> {
            commandLine.getErr().println("moe " + commandLine.getCommandName() + ": " + Errors.describe(ex));
            return 1;
        });
        return cl;
    }

    /**
     * Environment variable with a process id: when set, this JVM halts as soon as that process is gone (benchmarks
     * and tests start services as child processes; a killed parent must not leave them running).
     */
    static final String EXIT_WITH_PARENT = "MOE_EXIT_WITH_PARENT";

    public static void main(String[] args) {
        String parent = System.getenv(EXIT_WITH_PARENT);
        if (parent != null && !parent.isBlank()) {
            ProcessHandle.of(Long.parseLong(parent.trim()))
                    .ifPresentOrElse(
                            p -> p.onExit().thenRun(() -> Runtime.getRuntime().halt(3)),
                            () -> Runtime.getRuntime().halt(3));
        }
        int code = commandLine().execute(args);
        System.exit(code);
    }
}
