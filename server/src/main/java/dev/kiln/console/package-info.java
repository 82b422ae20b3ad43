/**
 * The web console's files (docs/adr/0027), built from console/ by scripts/build-console.sh into
 * the jar; the api package serves them (ConsoleHandler) with a strict Content-Security-Policy. The
 * pages hold no data: everything they show comes through the API, with the key the user signs in with.
 */
package dev.kiln.console;
