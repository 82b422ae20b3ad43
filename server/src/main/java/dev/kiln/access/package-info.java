/**
 * Who calls the API: keys (stored as hashes), their roles and limits, and the caller a request
 * is made by. What each role may do is the api package's to enforce; the limits are counted by
 * the store, in the transaction that would pass them.
 */
package dev.kiln.access;
