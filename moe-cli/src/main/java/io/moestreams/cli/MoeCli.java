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
            InspectCommand.class,
            GatewayCommand.class,
            InitTopicsCommand.class,
            K8sCommand.class,
            ExpertCommand.class,
            GenerateModelCommand.class,
            GenerateRequestsCommand.class,
            BenchCommand.class,
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

    public static void main(String[] args) {
        int code = commandLine().execute(args);
        System.exit(code);
    }
}
