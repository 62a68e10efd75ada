/**
 * Console output shared by the model loader and the command line: progress bars for long loads, drawn on a
 * stream at a width fixed up front.
 */
package io.twilight4j.console;
