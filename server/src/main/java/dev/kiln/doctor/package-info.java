/** {@code kiln doctor}: checks a host for what Kiln needs and says what it lacks, with the fix. */
package dev.kiln.doctor;
