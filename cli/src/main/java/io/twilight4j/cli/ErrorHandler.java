package io.twilight4j.cli;

import picocli.CommandLine;

/**
 * Turns an exception from a subcommand into one line on stderr and exit code 1; the stack trace
 * only with {@code -v/--verbose} (any subcommand option named so).
 */
final class ErrorHandler implements CommandLine.IExecutionExceptionHandler {

    @Override
    public int handleExecutionException(Exception ex, CommandLine cmd, CommandLine.ParseResult parsed) {
        boolean verbose = parsed.subcommands().stream().anyMatch(p -> p.hasMatchedOption("--verbose"))
                || parsed.hasMatchedOption("--verbose");
        String msg = ex.getMessage() == null ? ex.getClass().getSimpleName() : ex.getMessage();
        cmd.getErr().println("twilight4j " + cmd.getCommandName() + ": " + msg);
        if (verbose) {
            ex.printStackTrace(cmd.getErr());
        } else {
            cmd.getErr().println("(run with --verbose for the stack trace)");
        }
        return ex instanceof IllegalArgumentException ? 2 : 1;
    }
}
