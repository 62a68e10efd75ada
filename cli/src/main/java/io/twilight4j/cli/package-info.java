/** The command line: one picocli subcommand class per job, errors as one line naming the problem. */
package io.twilight4j.cli;
