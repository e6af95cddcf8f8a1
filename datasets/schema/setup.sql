-- Run first, in the template database, by the superuser.
-- Extensions a chapter may need (uuid-ossp and pgcrypto are not in the embedded build:
-- use gen_random_uuid() / uuidv7() and hash passwords in the application).
CREATE EXTENSION IF NOT EXISTS btree_gist;          -- 03: exclusion constraints on bookings
CREATE EXTENSION IF NOT EXISTS pg_trgm;             -- 04/05: trigram indexes, fuzzy search
CREATE EXTENSION IF NOT EXISTS pgstattuple;         -- 11: bloat measured
CREATE EXTENSION IF NOT EXISTS pg_stat_statements;  -- 11: query statistics

CREATE TYPE product_status AS ENUM ('draft', 'published', 'archived', 'discontinued');
COMMENT ON TYPE product_status IS 'Lifecycle of a product; an enum because the set is fixed and small';
