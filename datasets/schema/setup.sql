-- Run first, in the template database, by the course's role (a superuser, or CREATEDB/CREATEROLE).
-- Extensions a chapter may need (uuid-ossp and pgcrypto are not in the embedded build:
-- use gen_random_uuid() / uuidv7() and hash passwords in the application).
CREATE EXTENSION IF NOT EXISTS btree_gist;          -- 03: exclusion constraints on bookings
CREATE EXTENSION IF NOT EXISTS pg_trgm;             -- 04/05: trigram indexes, fuzzy search
-- Not trusted, so optional: pgstattuple (11: bloat measured) and pg_stat_statements (11: query
-- statistics) are created before this file where the role may, else skipped with one line
-- (pgcourse/extensions.py; `pgcourse admin-sql` prints what an administrator runs once).

CREATE TYPE product_status AS ENUM ('draft', 'published', 'archived', 'discontinued');
COMMENT ON TYPE product_status IS 'Lifecycle of a product; an enum because the set is fixed and small';
