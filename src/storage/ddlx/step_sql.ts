/**
 * One-time changes (an install step): full old rows for updates and deletes in the replication
 * stream, no TRUNCATE (the service follows the rules row by row), membership of a publication
 * that already exists, and removal of procedures a reference installation defined with other
 * parameter names (create-or-replace cannot rename parameters).
 */
export const PERMISSIONS_STEP_SQL = /* sql */ `
ALTER TABLE electric.grants REPLICA IDENTITY FULL;
ALTER TABLE electric.assignments REPLICA IDENTITY FULL;

CREATE OR REPLACE FUNCTION electric.__refuse_rules_truncate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'Cannot TRUNCATE "%"."%"', TG_TABLE_SCHEMA, TG_TABLE_NAME
    USING ERRCODE = '55000',
          DETAIL = 'The sync service follows permission rules row by row: use ELECTRIC REVOKE, ELECTRIC UNASSIGN or DELETE.';
END;
$$;
DROP TRIGGER IF EXISTS electric_refuse_truncate ON electric.grants;
CREATE TRIGGER electric_refuse_truncate BEFORE TRUNCATE ON electric.grants
  FOR EACH STATEMENT EXECUTE FUNCTION electric.__refuse_rules_truncate();
DROP TRIGGER IF EXISTS electric_refuse_truncate ON electric.assignments;
CREATE TRIGGER electric_refuse_truncate BEFORE TRUNCATE ON electric.assignments
  FOR EACH STATEMENT EXECUTE FUNCTION electric.__refuse_rules_truncate();

DO $$
DECLARE
  routine regprocedure;
  missing text;
BEGIN
  FOR routine IN
    SELECT p.oid::regprocedure FROM pg_catalog.pg_proc p
     WHERE p.pronamespace = 'electric'::regnamespace
       AND p.proname IN ('grant', 'revoke', 'assign', 'unassign')
  LOOP
    EXECUTE pg_catalog.format('DROP ROUTINE %s', routine);
  END LOOP;
  IF EXISTS (SELECT 1 FROM pg_catalog.pg_publication WHERE pubname = 'electric_publication') THEN
    FOR missing IN
      SELECT t FROM unnest(ARRAY['grants', 'assignments']) t
       WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_publication_tables p
                          WHERE p.pubname = 'electric_publication'
                            AND p.schemaname = 'electric' AND p.tablename = t)
    LOOP
      EXECUTE pg_catalog.format('ALTER PUBLICATION electric_publication ADD TABLE electric.%I', missing);
    END LOOP;
  END IF;
END $$;
`;
