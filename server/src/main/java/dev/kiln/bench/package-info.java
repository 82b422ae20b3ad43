/** The benchmark behind {@code kiln bench}: medians of Kiln's paths against the raw floor measured in the same run. */
package dev.kiln.bench;
