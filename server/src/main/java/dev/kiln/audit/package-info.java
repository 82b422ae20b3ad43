/**
 * The audit trail (docs/adr/0023): who did what through the API, appended off the request path
 * to a hash chain of this daemon's own in the store, and verified by walking the chains.
 */
package dev.kiln.audit;
