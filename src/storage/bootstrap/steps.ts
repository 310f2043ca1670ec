/**
 * The service's internal migrations: ordered, versioned steps that install the `electric`
 * schema. Each step runs once per database and is recorded in `electric.schema_migrations`.
 *
 * The first step installs in one go the final state that the reference service reaches
 * through its twenty installation steps, and records all twenty version numbers, so a
 * database installed by either service is recognised by the other. Later capabilities add
 * their own steps at the end, with new versions; a step is never edited once released.
 *
 * What is here is the storage the later capabilities need (see postgres-side.md §2.3–2.4):
 * migration bookkeeping, the electrified registry, tags and their ordering, client
 * acknowledgements, DDLX storage and the per-client resume state.
 */
import { PERMISSIONS_STEP_SQL } from "../ddlx/mod.ts";

export interface InstallStep {
  /** The version recorded in the ledger (the first of `records` when it records several). */
  readonly version: bigint;
  /** Every ledger version this step stands for. */
  readonly records: readonly bigint[];
  readonly description: string;
  readonly sql: string;
}

/** The reference's installation steps, all covered by the base step below. */
const REFERENCE_STEP_VERSIONS = [
  20230328113927n,
  20230424154425n,
  20230512000000n,
  20230605141256n,
  20230715000000n,
  20230814170123n,
  20230814170745n,
  20230829000000n,
  20230918115714n,
  20230921161045n,
  20230921161418n,
  20231009121515n,
  20231010123118n,
  20231016141000n,
  20231206130400n,
  20240110110200n,
  20240205141200n,
  20240213160300n,
  20240417131000n,
  20240501000000n,
];

/** Microseconds since the Unix epoch of the current transaction's start. */
const TXTS_DEFAULT = "(extract(epoch FROM transaction_timestamp()) * 1000000)::int8";

const BASE_SCHEMA_SQL = /* sql */ `
CREATE TABLE IF NOT EXISTS electric.migration_versions (
  txid xid8 NOT NULL DEFAULT pg_current_xact_id(),
  txts int8 NOT NULL DEFAULT ${TXTS_DEFAULT},
  version varchar(255) NOT NULL,
  priority int2 NOT NULL DEFAULT 0,
  inserted_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (txid, txts),
  CONSTRAINT migration_unique_version UNIQUE (version)
);

-- convert_to() is only STABLE (it depends on the database encoding, which never changes for
-- a database), so this wrapper may be declared IMMUTABLE for use in a generated column.
CREATE OR REPLACE FUNCTION electric.sha256_hex(input text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN encode(sha256(convert_to(input, 'UTF8')), 'hex');

CREATE TABLE IF NOT EXISTS electric.ddl_commands (
  id int8 GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  txid xid8 NOT NULL DEFAULT pg_current_xact_id(),
  txts int8 NOT NULL DEFAULT ${TXTS_DEFAULT},
  query text NOT NULL,
  query_hash text GENERATED ALWAYS AS (electric.sha256_hex(query)) STORED,
  CONSTRAINT ddl_table_unique_migrations UNIQUE (txid, txts, query_hash)
);

CREATE TABLE IF NOT EXISTS electric.schema (
  id int8 GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  version varchar(255) NOT NULL,
  schema jsonb NOT NULL,
  migration_ddl text[] NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX IF NOT EXISTS electric_schema_version_idx ON electric.schema (version);

CREATE TABLE IF NOT EXISTS electric.electrified (
  id int8 GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  schema_name text NOT NULL,
  table_name text NOT NULL,
  oid oid NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT unique_table_name UNIQUE (schema_name, table_name)
);

CREATE TABLE IF NOT EXISTS electric.transaction_marker (
  id varchar(64) PRIMARY KEY,
  content jsonb
);
INSERT INTO electric.transaction_marker (id, content)
  VALUES ('magic write', '{}'::jsonb), ('cluster_id', to_jsonb(gen_random_uuid()::text))
  ON CONFLICT (id) DO NOTHING;

CREATE TABLE IF NOT EXISTS electric.acknowledged_client_lsns (
  client_id text PRIMARY KEY,
  lsn bytea NOT NULL
);

-- In logical_replication mode the service can only send inserts; this turns them into
-- upserts. It fires for replicated rows only (ENABLE REPLICA) and not inside other triggers.
CREATE OR REPLACE FUNCTION electric.upsert_acknowledged_client_lsn() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
BEGIN
  INSERT INTO electric.acknowledged_client_lsns AS t (client_id, lsn)
    VALUES (NEW.client_id, NEW.lsn)
    ON CONFLICT (client_id) DO UPDATE SET lsn = excluded.lsn;
  RETURN NULL;
END;
$$;
DROP TRIGGER IF EXISTS upsert_acknowledged_client_lsn ON electric.acknowledged_client_lsns;
CREATE TRIGGER upsert_acknowledged_client_lsn
  BEFORE INSERT ON electric.acknowledged_client_lsns
  FOR EACH ROW WHEN (pg_trigger_depth() < 1)
  EXECUTE FUNCTION electric.upsert_acknowledged_client_lsn();
ALTER TABLE electric.acknowledged_client_lsns ENABLE REPLICA TRIGGER upsert_acknowledged_client_lsn;

-- DDLX permission storage: written by the DDLX procedures, not enforced by sync.
CREATE TABLE IF NOT EXISTS electric.roles (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  role text NOT NULL,
  user_id text NOT NULL,
  scope_table text,
  scope_id text,
  assignment_id uuid
);
CREATE TABLE IF NOT EXISTS electric.assignments (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  table_name text NOT NULL,
  scope_table text NOT NULL DEFAULT '__none__',
  user_column text NOT NULL,
  role_name text NOT NULL DEFAULT '__none__',
  role_column text NOT NULL DEFAULT '__none__',
  if_fn text,
  CONSTRAINT unique_assign UNIQUE (table_name, scope_table, user_column, role_name, role_column)
);
CREATE TABLE IF NOT EXISTS electric.grants (
  privilege text NOT NULL,
  on_table text NOT NULL,
  role text NOT NULL,
  column_name text NOT NULL,
  scope text NOT NULL,
  using_path text,
  check_fn text,
  PRIMARY KEY (privilege, on_table, role, scope, column_name)
);

-- Merge metadata: a tag is (timestamp, source); NULL source means Postgres wrote the value.
DO $$ BEGIN
  CREATE TYPE electric.unbounded_tag AS (timestamp timestamptz, source_id varchar(255));
EXCEPTION WHEN duplicate_object THEN NULL; END $$;
DO $$ BEGIN
  CREATE DOMAIN electric.tag AS electric.unbounded_tag
    CHECK (VALUE IS NULL OR (VALUE).timestamp IS NOT NULL);
EXCEPTION WHEN duplicate_object THEN NULL; END $$;
DO $$ BEGIN
  CREATE TYPE electric.client_additional_data_subject AS ENUM ('transaction', 'subscription');
EXCEPTION WHEN duplicate_object THEN NULL; END $$;

-- Per-client resume state (private to the service; our own encodings in the bytea columns).
CREATE TABLE IF NOT EXISTS electric.client_checkpoints (
  client_id varchar(64) PRIMARY KEY,
  pg_wal_pos bigint NOT NULL,
  sent_rows_graph bytea NOT NULL
);
CREATE TABLE IF NOT EXISTS electric.client_shape_subscriptions (
  client_id varchar(64) NOT NULL,
  subscription_id uuid NOT NULL,
  min_txid xid8 NOT NULL,
  ord bigint NOT NULL,
  shape_requests bytea NOT NULL,
  PRIMARY KEY (client_id, subscription_id)
);
CREATE TABLE IF NOT EXISTS electric.client_actions (
  client_id varchar(64) NOT NULL,
  txid xid8 NOT NULL,
  subquery_actions bytea NOT NULL,
  PRIMARY KEY (client_id, txid)
);
CREATE TABLE IF NOT EXISTS electric.client_additional_data (
  client_id varchar(64) NOT NULL,
  min_txid xid8 NOT NULL,
  ord bigint NOT NULL,
  subject electric.client_additional_data_subject NOT NULL,
  subscription_id uuid,
  graph_diff bytea NOT NULL,
  included_txns bigint[] NOT NULL DEFAULT '{}',
  PRIMARY KEY (client_id, min_txid, ord)
);
CREATE TABLE IF NOT EXISTS electric.client_unsub_points (
  client_id varchar(64) NOT NULL,
  subscription_id uuid NOT NULL,
  wal_pos bigint NOT NULL,
  PRIMARY KEY (client_id, subscription_id)
);
`;

/**
 * Tag ordering: by timestamp; at equal timestamps a NULL source (Postgres) is greater than any
 * client source, so Postgres wins ties; two client sources compare as strings (byte order).
 * Routines are create-or-replace and run on every start, so a newer service upgrades them.
 */
const TAG_ROUTINES_SQL = /* sql */ `
CREATE OR REPLACE FUNCTION electric.tag_compare(a electric.tag, b electric.tag) RETURNS int4
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE
  WHEN (a).timestamp < (b).timestamp THEN -1
  WHEN (a).timestamp > (b).timestamp THEN 1
  WHEN (a).source_id IS NULL AND (b).source_id IS NULL THEN 0
  WHEN (a).source_id IS NULL THEN 1
  WHEN (b).source_id IS NULL THEN -1
  WHEN (a).source_id COLLATE "C" < (b).source_id COLLATE "C" THEN -1
  WHEN (a).source_id COLLATE "C" > (b).source_id COLLATE "C" THEN 1
  ELSE 0
END;
${
  [
    ["eq", "=", "= 0"],
    ["ne", "<>", "<> 0"],
    ["lt", "<", "< 0"],
    ["gt", ">", "> 0"],
    ["le", "<=", "<= 0"],
    ["ge", ">=", ">= 0"],
  ].map(([name, , test]) =>
    `CREATE OR REPLACE FUNCTION electric.tag_${name}(a electric.tag, b electric.tag) RETURNS bool
LANGUAGE sql IMMUTABLE PARALLEL SAFE RETURN electric.tag_compare(a, b) ${test};`
  ).join("\n")
}
`;

/** Operators cannot be created "or replace"; they are created once, inside the base step. */
const TAG_OPERATORS_SQL = [
  ["eq", "=", "<>", "="],
  ["ne", "<>", "=", "<>"],
  ["lt", "<", ">=", ">"],
  ["gt", ">", "<=", "<"],
  ["le", "<=", ">", ">="],
  ["ge", ">=", "<", "<="],
].map(([name, op, negator, commutator]) =>
  `CREATE OPERATOR electric.${op} (LEFTARG = electric.tag, RIGHTARG = electric.tag, ` +
  `FUNCTION = electric.tag_${name}, COMMUTATOR = OPERATOR(electric.${commutator}), ` +
  `NEGATOR = OPERATOR(electric.${negator}));`
).join("\n");

/**
 * Durable position of the replication reader: the end LSN of the last transaction handed on
 * downstream. On restart, transactions at or before it are re-read into the cache only (no
 * consumer sees them as new); those after it flow on as usual.
 */
const REPLICATION_POSITIONS_SQL = /* sql */ `
CREATE TABLE IF NOT EXISTS electric.replication_positions (
  slot_name text PRIMARY KEY,
  processed_lsn pg_lsn NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);
`;

/**
 * `logical_replication` mode's carrier for set-based merges (src/writes/merged_sql.ts): the
 * publisher streams a run of client changes as one row holding the statements the direct
 * writer would run, and this trigger runs them in the apply worker's transaction, with the
 * effective role that keeps the electric row triggers out of the way. Rows are never stored.
 * REPLICA: it fires for replicated rows only; an ordinary insert is just stored, so nothing
 * is run with the rights of whoever can write here (only the owner, unless granted).
 */
const CLIENT_MERGE_STATEMENTS_SQL = /* sql */ `
CREATE TABLE IF NOT EXISTS electric.client_merge_statements (
  statements text[] NOT NULL
);
REVOKE ALL ON electric.client_merge_statements FROM PUBLIC;

CREATE OR REPLACE FUNCTION electric.run_client_merge_statements() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  statement text;
BEGIN
  PERFORM pg_catalog.set_config('electric.session_replication_role', 'merged', true);
  FOREACH statement IN ARRAY NEW.statements LOOP
    EXECUTE statement;
  END LOOP;
  PERFORM pg_catalog.set_config('electric.session_replication_role', '', true);
  RETURN NULL;
END;
$$;
DROP TRIGGER IF EXISTS run_client_merge_statements ON electric.client_merge_statements;
CREATE TRIGGER run_client_merge_statements
  BEFORE INSERT ON electric.client_merge_statements
  FOR EACH ROW WHEN (pg_trigger_depth() < 1)
  EXECUTE FUNCTION electric.run_client_merge_statements();
ALTER TABLE electric.client_merge_statements ENABLE REPLICA TRIGGER run_client_merge_statements;
`;

/**
 * Read-path state that costs what changed, not what clients hold: each client's subscriptions
 * and acknowledged position (a few bytes per client, positions written coalesced), and the
 * membership of graph shape groups as key intervals `[added_lsn, removed_lsn)` shared by every
 * client of the group (src/sync/). Replaces `client_checkpoints`, whose whole-state blobs were
 * rewritten on every acknowledgement; that table stays for databases the reference installed.
 */
const SHAPE_STATE_SQL = /* sql */ `
CREATE TABLE IF NOT EXISTS electric.client_subscriptions (
  client_id text NOT NULL,
  subscription_id text NOT NULL,
  plan jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (client_id, subscription_id)
);
CREATE TABLE IF NOT EXISTS electric.client_positions (
  client_id text PRIMARY KEY,
  acked_lsn int8 NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS electric.shape_groups (
  id int8 GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  group_key text NOT NULL UNIQUE,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS electric.shape_group_rows (
  group_id int8 NOT NULL REFERENCES electric.shape_groups (id) ON DELETE CASCADE,
  row_key text NOT NULL,
  added_lsn int8 NOT NULL,
  removed_lsn int8
);
CREATE INDEX IF NOT EXISTS shape_group_rows_open
  ON electric.shape_group_rows (group_id, row_key) WHERE removed_lsn IS NULL;
CREATE INDEX IF NOT EXISTS shape_group_rows_added ON electric.shape_group_rows (group_id, added_lsn);
CREATE INDEX IF NOT EXISTS shape_group_rows_removed
  ON electric.shape_group_rows (group_id, removed_lsn) WHERE removed_lsn IS NOT NULL;
`;

/**
 * The newest transaction at or before the processed position: a restart knows that none lies
 * between the two, so clients resuming from that transaction need no read of retained WAL.
 */
const LAST_TRANSACTION_SQL = /* sql */ `
ALTER TABLE electric.replication_positions ADD COLUMN IF NOT EXISTS last_transaction_lsn pg_lsn;
`;

/**
 * Which user a client id belongs to: the first user that authenticated with it. Another user
 * presenting the id is refused, so nobody can take over a client's connection, subscriptions
 * or the position it resumes writing from.
 */
const CLIENT_OWNERS_SQL = /* sql */ `
CREATE TABLE IF NOT EXISTS electric.client_owners (
  client_id text PRIMARY KEY,
  user_id text NOT NULL,
  claimed_at timestamptz NOT NULL DEFAULT now()
);
`;

/**
 * The instances sharing this database (src/storage/instances.ts): one row per slot set, keyed
 * by the main slot's name (an instance without ELECTRIC_INSTANCE_ID keeps one row across
 * restarts), with a heartbeat. A live instance drops the slots and subscription of a row whose
 * heartbeat is older than ELECTRIC_INSTANCE_EXPIRY.
 */
const INSTANCES_SQL = /* sql */ `
CREATE TABLE IF NOT EXISTS electric.instances (
  main_slot text PRIMARY KEY,
  instance_id text NOT NULL,
  live_slot text NOT NULL,
  subscription text,
  write_mode text NOT NULL,
  started_at timestamptz NOT NULL DEFAULT now(),
  last_seen timestamptz NOT NULL DEFAULT now()
);
`;

/**
 * A client transaction is applied at most once whichever instance (or which of its attempts)
 * applies it: the client's stored LSN must move forward. Another instance may still be applying
 * a client's writes when the client, having lost it, resends them elsewhere (a killed service's
 * backend finishing its batch, a subscription worker applying what it had received).
 * - direct_writes: an update of the stored LSN that does not move it forward fails with
 *   SQLSTATE EL409, which aborts the Postgres transaction; the writer then finds it applied.
 * - logical_replication (the subscription's apply worker): such a transaction is skipped, the
 *   position row and the set-based merge row being the parts it carries (a transaction
 *   confirmed by the subscriber counts as applied, which it was, once).
 * Client LSNs are big-endian integers of any length, compared as such.
 */
const CLIENT_WRITE_FENCE_SQL = /* sql */ `
CREATE OR REPLACE FUNCTION electric.__client_lsn_newer(new_lsn bytea, old_lsn bytea)
RETURNS boolean LANGUAGE sql IMMUTABLE SET search_path = pg_catalog AS $$
  SELECT pg_catalog.lpad(pg_catalog.ltrim(pg_catalog.encode(new_lsn, 'hex'), '0'), 256, '0') COLLATE "C"
       > pg_catalog.lpad(pg_catalog.ltrim(pg_catalog.encode(old_lsn, 'hex'), '0'), 256, '0') COLLATE "C"
$$;

-- The same position written again by the transaction that moved it there is not a replay
-- (a client transaction applied in parts, in tests); a transaction-local note tells which.
CREATE OR REPLACE FUNCTION electric.refuse_stale_client_lsn() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog AS $$
DECLARE
  claim text := NEW.client_id || ':' || pg_catalog.encode(NEW.lsn, 'hex');
BEGIN
  IF TG_OP = 'UPDATE' AND NOT electric.__client_lsn_newer(NEW.lsn, OLD.lsn)
     AND pg_catalog.current_setting('electric.client_lsn_claimed', true)
         IS DISTINCT FROM claim THEN
    RAISE EXCEPTION 'The transaction at client LSN % of client % is applied already',
      pg_catalog.encode(NEW.lsn, 'hex'), NEW.client_id USING ERRCODE = 'EL409';
  END IF;
  PERFORM pg_catalog.set_config('electric.client_lsn_claimed', claim, true);
  RETURN NEW;
END;
$$;
-- BEFORE UPDATE checks; AFTER INSERT only notes (a BEFORE INSERT trigger would also fire for
-- an upsert that turns into the update).
DROP TRIGGER IF EXISTS refuse_stale_client_lsn ON electric.acknowledged_client_lsns;
CREATE TRIGGER refuse_stale_client_lsn
  BEFORE UPDATE ON electric.acknowledged_client_lsns
  FOR EACH ROW WHEN (pg_trigger_depth() < 1)
  EXECUTE FUNCTION electric.refuse_stale_client_lsn();
DROP TRIGGER IF EXISTS note_client_lsn_claim ON electric.acknowledged_client_lsns;
CREATE TRIGGER note_client_lsn_claim
  AFTER INSERT ON electric.acknowledged_client_lsns
  FOR EACH ROW WHEN (pg_trigger_depth() < 1)
  EXECUTE FUNCTION electric.refuse_stale_client_lsn();

CREATE OR REPLACE FUNCTION electric.upsert_acknowledged_client_lsn() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
DECLARE
  known bytea;
BEGIN
  SELECT lsn INTO known FROM electric.acknowledged_client_lsns
   WHERE client_id = NEW.client_id FOR UPDATE;
  IF FOUND AND NOT electric.__client_lsn_newer(NEW.lsn, known) THEN
    PERFORM pg_catalog.set_config('electric.skip_client_transaction', 'on', true);
    RETURN NULL;
  END IF;
  PERFORM pg_catalog.set_config('electric.skip_client_transaction', '', true);
  INSERT INTO electric.acknowledged_client_lsns AS t (client_id, lsn)
    VALUES (NEW.client_id, NEW.lsn)
    ON CONFLICT (client_id) DO UPDATE SET lsn = excluded.lsn;
  RETURN NULL;
END;
$$;

CREATE OR REPLACE FUNCTION electric.run_client_merge_statements() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  statement text;
BEGIN
  IF pg_catalog.current_setting('electric.skip_client_transaction', true) = 'on' THEN
    RETURN NULL;
  END IF;
  PERFORM pg_catalog.set_config('electric.session_replication_role', 'merged', true);
  FOREACH statement IN ARRAY NEW.statements LOOP
    EXECUTE statement;
  END LOOP;
  PERFORM pg_catalog.set_config('electric.session_replication_role', '', true);
  RETURN NULL;
END;
$$;
`;

/**
 * Fingerprints of generated code: the per-table trigger functions are generated once, at
 * electrification, so a service whose generators changed regenerates them at start-up when the
 * stored fingerprint differs (see bootstrap.ts).
 */
const ROUTINE_FINGERPRINTS_SQL = /* sql */ `
CREATE TABLE IF NOT EXISTS electric.routine_fingerprints (
  name text PRIMARY KEY,
  fingerprint text NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);
`;

/**
 * Group membership written by several instances (src/sync/membership_store.ts): whether a key
 * is held at a position is looked up by group and key, open or not, when an interval is opened;
 * that index also serves closing, so the partial index of open intervals goes.
 */
const SHARED_MEMBERSHIP_SQL = /* sql */ `
CREATE INDEX IF NOT EXISTS shape_group_rows_key ON electric.shape_group_rows (group_id, row_key);
DROP INDEX IF EXISTS electric.shape_group_rows_open;
`;

export const INSTALL_STEPS: readonly InstallStep[] = [
  {
    version: REFERENCE_STEP_VERSIONS[0],
    records: REFERENCE_STEP_VERSIONS,
    description: "electric schema: migration bookkeeping, registry, tags, client state",
    sql: BASE_SCHEMA_SQL + TAG_ROUTINES_SQL + TAG_OPERATORS_SQL,
  },
  {
    version: 20261127000001n,
    records: [20261127000001n],
    description: "replication reader position",
    sql: REPLICATION_POSITIONS_SQL,
  },
  {
    version: 20261127000002n,
    records: [20261127000002n],
    description: "set-based client merges in logical_replication mode",
    sql: CLIENT_MERGE_STATEMENTS_SQL,
  },
  {
    version: 20261204000001n,
    records: [20261204000001n],
    description: "shape groups and client positions",
    sql: SHAPE_STATE_SQL,
  },
  {
    version: 20261204000002n,
    records: [20261204000002n],
    description: "the newest transaction at the replication position",
    sql: LAST_TRANSACTION_SQL,
  },
  {
    version: 20261204000003n,
    records: [20261204000003n],
    description: "the user each client id belongs to",
    sql: CLIENT_OWNERS_SQL,
  },
  {
    version: 20261205000001n,
    records: [20261205000001n],
    description: "permission rules in the replication stream; DDLX procedures replaced",
    sql: PERMISSIONS_STEP_SQL,
  },
  {
    version: 20261210000001n,
    records: [20261210000001n],
    description: "the instances sharing the database, with their slots and heartbeats",
    sql: INSTANCES_SQL,
  },
  {
    version: 20261210000002n,
    records: [20261210000002n],
    description: "client transactions applied at most once across instances",
    sql: CLIENT_WRITE_FENCE_SQL,
  },
  {
    version: 20261211000001n,
    records: [20261211000001n],
    description: "fingerprints of generated trigger functions, to regenerate them on upgrade",
    sql: ROUTINE_FINGERPRINTS_SQL,
  },
  {
    version: 20261211000002n,
    records: [20261211000002n],
    description: "graph group membership kept by several instances at once",
    sql: SHARED_MEMBERSHIP_SQL,
  },
];

/** Tag routines, (re)defined on every start after the steps (see bootstrap.ts). */
export { TAG_ROUTINES_SQL };
