/** Assembles the daemon from its parts, in order, and takes it apart again; the TTL reaper. */
package dev.kiln.daemon;
