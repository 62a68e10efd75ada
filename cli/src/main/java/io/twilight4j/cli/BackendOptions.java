package io.twilight4j.cli;

import picocli.CommandLine.Option;

/** Options every command that runs attention shares: backend, device, threads, verbose errors. */
final class BackendOptions {

    @Option(names = "--backend", defaultValue = "cpu", description = "cpu or opencl (default: ${DEFAULT-VALUE})")
    String backend;
    @Option(names = "--device", description = "OpenCL device: index or part of its name")
    String device;
    @Option(names = {"-t", "--threads"}, defaultValue = "0", description = "CPU threads, 0 = one per core")
    int threads;
    @Option(names = {"-v", "--verbose"}, description = "stack traces on errors")
    boolean verbose;
}
