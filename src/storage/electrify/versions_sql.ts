/**
 * Migration versions and DDL capture, as SQL routines (postgres-side.md §4.1–4.2).
 *
 * Every transaction that changes the electrified schema gets exactly one version, keyed by
 * (txid, txts): the 64-bit transaction id and the transaction's start time in microseconds.
 * A version written with a strictly higher priority replaces the stored one:
 *   0 default (transaction start time), 2/4 framework versions seen by the proxy,
 *   32767 `CALL electric.migration_version('…')`.
 */
export const VERSION_ROUTINES_SQL = /* sql */ `
CREATE OR REPLACE PROCEDURE electric.assign_migration_version(version text, priority int)
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog AS $$
  INSERT INTO electric.migration_versions (version, priority)
    VALUES (version, priority)
    ON CONFLICT (txid, txts) DO UPDATE
      SET version = excluded.version, priority = excluded.priority
      WHERE electric.migration_versions.priority < excluded.priority;
$$;

-- The default version: the transaction start time in the session's time zone, to the ms.
CREATE OR REPLACE FUNCTION electric.assign_default_version()
RETURNS void LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog AS $$
  INSERT INTO electric.migration_versions (version, priority)
    VALUES (to_char(transaction_timestamp(), 'YYYYMMDDHH24MISS_MS'), 0)
    ON CONFLICT (txid, txts) DO NOTHING;
$$;

CREATE OR REPLACE FUNCTION electric.tx_has_assigned_version()
RETURNS boolean LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
  SELECT EXISTS (
    SELECT 1 FROM electric.migration_versions
     WHERE txid = pg_current_xact_id()
       AND txts = (extract(epoch FROM transaction_timestamp()) * 1000000)::int8
  );
$$;

-- What users call to name the migration of the current transaction (highest priority).
CREATE OR REPLACE PROCEDURE electric.migration_version(version text)
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog AS $$
  CALL electric.assign_migration_version(version, 32767);
$$;

-- Records one DDL statement as part of the current transaction's migration. A statement
-- captured twice in one transaction is kept once.
CREATE OR REPLACE PROCEDURE electric.capture_ddl(query text DEFAULT current_query())
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
BEGIN
  PERFORM electric.assign_default_version();
  INSERT INTO electric.ddl_commands (query) VALUES (query)
    ON CONFLICT ON CONSTRAINT ddl_table_unique_migrations DO NOTHING;
END;
$$;
`;
