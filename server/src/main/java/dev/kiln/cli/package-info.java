/** The {@code kiln} command line: the daemon entry point and a client of the REST API. */
package dev.kiln.cli;
