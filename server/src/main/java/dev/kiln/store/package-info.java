/**
 * Durable state in SQL: the embedded SQLite database (one writer connection, a pool of read-only
 * ones), its Flyway migrations (resources {@code db/migration/sqlite/V<n>__*.sql}) and one
 * repository per table. Every operation is one transaction; sandbox state moves by compare-and-set.
 */
package dev.kiln.store;
