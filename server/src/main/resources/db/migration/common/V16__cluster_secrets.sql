-- Secrets every daemon sharing this store must agree on (docs/adr/0024): the key E2B's envd access
-- tokens are derived with, so a token made on one node opens its sandbox on any other (after a
-- live migration, through any control instance). Written once, by whichever daemon needs it first.
CREATE TABLE cluster_secrets (
  name  TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
