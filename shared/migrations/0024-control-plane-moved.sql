-- The control plane now lives in PostgreSQL (control-migrations/0001). migrateStores copies these
-- tables' rows there first (platform/postgres/legacy-control-plane.ts), then this drops them.
DROP TABLE IF EXISTS practices;
DROP TABLE IF EXISTS partners;
DROP TABLE IF EXISTS api_keys;
DROP TABLE IF EXISTS ingest_keys;
DROP TABLE IF EXISTS partner_releases;
DROP TABLE IF EXISTS privacy_budget_ledger;
