-- Runs once, when letta-postgres initialises an empty data directory (docker-entrypoint-initdb.d).
-- Letta needs the pgvector extension (named `vector`) in its database but does not create it.
CREATE EXTENSION IF NOT EXISTS vector;
