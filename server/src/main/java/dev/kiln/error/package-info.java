/**
 * The service's error vocabulary: stable codes clients can match on. The api package maps each
 * code to an HTTP status in one exhaustive switch.
 */
package dev.kiln.error;
