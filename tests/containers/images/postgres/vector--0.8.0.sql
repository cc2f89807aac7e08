-- lettagate's test stand-in for pgvector 0.8.0: intentionally (almost) empty.
\echo Use "CREATE EXTENSION vector" to load this file. \quit
COMMENT ON EXTENSION vector IS 'lettagate test stand-in for pgvector (no vector type)';
