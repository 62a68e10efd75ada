package io.twilight4j.cli;

import picocli.CommandLine.Command;

/** {@code twilight4j bench ...}: benchmark jobs. */
@Command(name = "bench", mixinStandardHelpOptions = true, description = "Benchmarks.",
        subcommands = {BenchAttentionCommand.class, BenchAccuracyCommand.class})
final class BenchCommand implements Runnable {
    @Override
    public void run() {
        System.out.println("usage: twilight4j bench attention|accuracy [OPTIONS]   (see --help)");
    }
}
