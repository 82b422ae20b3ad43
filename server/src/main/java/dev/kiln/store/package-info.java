/**
 * Durable state in SQL: the embedded SQLite database, its numbered migrations (resources
 * {@code db/sqlite/V<n>__*.sql}) and one repository per table. Every write is one transaction.
 */
package dev.kiln.store;
