/**
 * Durable state in SQL, on the embedded SQLite file (one host) or a PostgreSQL database (a
 * cluster), chosen by {@code Dialect}: the connections (a writer pool and a pool of
 * read-only ones), the Flyway migrations (one common set, {@code db/migration/common}, from the
 * baseline {@code B7__schema.sql}; SQLite files made before it also have {@code db/migration/sqlite}
 * V1-V7) and one repository per table. Every operation is one transaction, serializable on both
 * databases (docs/adr/0013); sandbox state moves by compare-and-set.
 */
package dev.kiln.store;
