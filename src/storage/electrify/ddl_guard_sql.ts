/**
 * Guarding electrified tables against DDL run directly on Postgres (beyond the reference,
 * which only saw DDL passing through its proxy; postgres-side.md §4.6).
 *
 * Event triggers compare an electrified table after each ALTER TABLE with its tombstone table,
 * which mirrors the columns (names, types, NOT NULL) the service knows: a new column that can
 * sync is captured as `ALTER TABLE … ADD COLUMN …` and added to the shadow state; anything that
 * cannot sync (dropped, renamed or retyped columns, defaults, constraints, renamed tables,
 * dropped tables) raises, which aborts the user's transaction. CREATE INDEX and DROP INDEX on
 * an electrified table are captured. Creating event triggers needs a superuser; without one the
 * service says so at startup and only the migrations proxy captures DDL.
 *
 * `SET electric.ddl_guard = off` in a session disables the guard there (an escape hatch for
 * operators; nothing is captured in that session).
 */

export const DDL_GUARD_ROUTINES_SQL = /* sql */ `
CREATE OR REPLACE FUNCTION electric.__reject_ddl(code text, message text, schema_name text, table_name text)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION USING
    ERRCODE = code,
    MESSAGE = message,
    DETAIL = 'Electric currently only supports additive migrations (ADD COLUMN, ADD INDEX)',
    SCHEMA = schema_name,
    TABLE = table_name;
END;
$$;

CREATE OR REPLACE FUNCTION electric.__check_electrified_table_change(rel oid) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog AS $$
DECLARE
  e record;
  cur_schema text;
  cur_name text;
  label text;
  tomb regclass;
  col record;
  problem text;
BEGIN
  SELECT * INTO e FROM electric.electrified WHERE oid = rel;
  IF NOT FOUND THEN RETURN; END IF;
  label := format('"%s"."%s"', e.schema_name, e.table_name);
  SELECT n.nspname, c.relname INTO cur_schema, cur_name
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = rel;
  IF cur_schema <> e.schema_name OR cur_name <> e.table_name THEN
    PERFORM electric.__reject_ddl('EX002', format('Cannot rename electrified table %s', label),
                                  e.schema_name, e.table_name);
  END IF;
  tomb := to_regclass(format('electric.%I', 'tombstone__' || e.schema_name || '__' || e.table_name));
  IF tomb IS NULL THEN RETURN; END IF;

  FOR col IN
    SELECT t.attname FROM pg_attribute t
     WHERE t.attrelid = tomb AND t.attnum > 0 AND NOT t.attisdropped
       AND NOT EXISTS (SELECT 1 FROM pg_attribute u
                        WHERE u.attrelid = rel AND u.attname = t.attname AND u.attnum > 0 AND NOT u.attisdropped)
     ORDER BY t.attnum
  LOOP
    PERFORM electric.__reject_ddl('EX010',
      format('Cannot drop or rename column "%s" of electrified table %s', col.attname, label),
      e.schema_name, e.table_name);
  END LOOP;

  FOR col IN
    SELECT u.attname, u.atttypid, u.atttypmod, u.attnotnull, u.atthasdef, u.attidentity, u.attgenerated,
           t.atttypid AS old_typid, t.atttypmod AS old_typmod, t.attnotnull AS old_notnull
      FROM pg_attribute u
      JOIN pg_attribute t ON t.attrelid = tomb AND t.attname = u.attname AND t.attnum > 0 AND NOT t.attisdropped
     WHERE u.attrelid = rel AND u.attnum > 0 AND NOT u.attisdropped
     ORDER BY u.attnum
  LOOP
    IF col.atttypid <> col.old_typid OR col.atttypmod <> col.old_typmod THEN
      PERFORM electric.__reject_ddl('EX009',
        format('Cannot change type of column "%s" of electrified table %s', col.attname, label),
        e.schema_name, e.table_name);
    END IF;
    IF col.atthasdef OR col.attidentity <> '' OR col.attgenerated <> '' OR col.attnotnull <> col.old_notnull THEN
      PERFORM electric.__reject_ddl('EX007',
        format('Cannot alter column "%s" of electrified table %s', col.attname, label),
        e.schema_name, e.table_name);
    END IF;
  END LOOP;

  IF EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = rel AND contype NOT IN ('p', 'f')) THEN
    PERFORM electric.__reject_ddl('EX007',
      format('Cannot add a CHECK, UNIQUE, EXCLUDE or user-defined constraint to electrified table %s', label),
      e.schema_name, e.table_name);
  END IF;

  FOR col IN
    SELECT u.attname, u.attnum, u.atttypid, u.atttypmod, u.attnotnull, u.atthasdef, u.attidentity,
           u.attgenerated, ty.typtype
      FROM pg_attribute u JOIN pg_type ty ON ty.oid = u.atttypid
     WHERE u.attrelid = rel AND u.attnum > 0 AND NOT u.attisdropped
       AND NOT EXISTS (SELECT 1 FROM pg_attribute t
                        WHERE t.attrelid = tomb AND t.attname = u.attname AND t.attnum > 0 AND NOT t.attisdropped)
     ORDER BY u.attnum
  LOOP
    problem := electric.__column_type_problem(col.atttypid, col.atttypmod);
    -- Enum types added later would have to reach clients before the column; not supported.
    IF problem IS NOT NULL OR col.typtype = 'e' THEN
      PERFORM electric.__reject_ddl('EX005',
        format('Cannot electrify column of type "%s"', format_type(col.atttypid, col.atttypmod)),
        e.schema_name, e.table_name);
    END IF;
    IF col.atthasdef THEN
      PERFORM electric.__reject_ddl('EX006', 'Cannot electrify column with DEFAULT clause',
                                    e.schema_name, e.table_name);
    END IF;
    IF col.attidentity <> '' OR col.attgenerated <> '' THEN
      PERFORM electric.__reject_ddl('EX011', 'Cannot electrify column with GENERATED constraint',
                                    e.schema_name, e.table_name);
    END IF;
    IF EXISTS (SELECT 1 FROM pg_constraint
                WHERE conrelid = rel AND contype = 'f' AND col.attnum = ANY (conkey)) THEN
      PERFORM electric.__reject_ddl('EX011', 'Cannot electrify column with FOREIGN KEY constraint',
                                    e.schema_name, e.table_name);
    END IF;
    IF octet_length(col.attname) > 51 THEN
      PERFORM electric.__reject_ddl('EX005',
        format('Cannot electrify column "%s": names longer than 51 bytes are not supported', col.attname),
        e.schema_name, e.table_name);
    END IF;
    -- Names as clients resolve them (client_ddl_sql.ts).
    CALL electric.capture_ddl(format('ALTER TABLE %s ADD COLUMN %I %s%s;', electric.__client_relation_name(rel),
                                     col.attname, electric.__client_type_name(col.atttypid, col.atttypmod),
                                     CASE WHEN col.attnotnull THEN ' NOT NULL' ELSE '' END));
    CALL electric.shadow_add_column(e.schema_name, e.table_name, col.attname,
                                    format_type(col.atttypid, col.atttypmod));
  END LOOP;
END;
$$;

CREATE OR REPLACE FUNCTION electric.__ddl_guard_enabled() RETURNS boolean
LANGUAGE sql STABLE AS $$
  SELECT coalesce(current_setting('electric.__in_electrify', true), '') <> 'on'
     AND coalesce(current_setting('electric.ddl_guard', true), '') NOT IN ('off', 'false', '0');
$$;

CREATE OR REPLACE FUNCTION electric.__on_ddl_command_end() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
DECLARE
  cmd record;
  rel oid;
BEGIN
  IF NOT electric.__ddl_guard_enabled() THEN RETURN; END IF;
  FOR cmd IN SELECT * FROM pg_event_trigger_ddl_commands() LOOP
    CONTINUE WHEN cmd.schema_name = 'electric';
    IF cmd.command_tag = 'ALTER TABLE' THEN
      rel := CASE cmd.classid
               WHEN 'pg_class'::regclass THEN cmd.objid
               WHEN 'pg_constraint'::regclass THEN (SELECT conrelid FROM pg_constraint WHERE oid = cmd.objid)
             END;
      IF rel IS NOT NULL THEN PERFORM electric.__check_electrified_table_change(rel); END IF;
    ELSIF cmd.command_tag = 'CREATE INDEX' THEN
      SELECT indrelid INTO rel FROM pg_index WHERE indexrelid = cmd.objid;
      IF EXISTS (SELECT 1 FROM electric.electrified WHERE oid = rel) THEN
        CALL electric.capture_ddl(electric.__index_ddl(cmd.objid));
      END IF;
    END IF;
  END LOOP;
END;
$$;

-- By the time sql_drop reports a dropped index, the index and its link to its table are gone;
-- so before each DROP INDEX the indexes of electrified tables are noted for the transaction.
CREATE OR REPLACE FUNCTION electric.__on_drop_index_start() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
BEGIN
  IF NOT electric.__ddl_guard_enabled() THEN RETURN; END IF;
  PERFORM set_config('electric.__electrified_indexes',
    coalesce((SELECT string_agg(i.indexrelid::text, ',')
                FROM pg_index i JOIN electric.electrified e ON e.oid = i.indrelid), ''),
    true);
END;
$$;

CREATE OR REPLACE FUNCTION electric.__on_sql_drop() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
DECLARE
  obj record;
  e record;
  electrified_indexes text[] :=
    string_to_array(coalesce(current_setting('electric.__electrified_indexes', true), ''), ',');
BEGIN
  IF NOT electric.__ddl_guard_enabled() THEN RETURN; END IF;
  PERFORM set_config('electric.__electrified_indexes', '', true);
  FOR obj IN SELECT * FROM pg_event_trigger_dropped_objects() LOOP
    IF obj.object_type = 'index' THEN
      IF obj.objid::text = ANY (electrified_indexes) THEN
        CALL electric.capture_ddl(format('DROP INDEX %s;',
          electric.__client_dropped_relation_name(obj.schema_name, obj.object_name)));
      END IF;
      CONTINUE;
    END IF;
    CONTINUE WHEN obj.object_type NOT IN ('table', 'table column');
    SELECT * INTO e FROM electric.electrified WHERE oid = obj.objid;
    CONTINUE WHEN NOT FOUND;
    IF obj.object_type = 'table' THEN
      PERFORM electric.__reject_ddl('EX100',
        format('Cannot DROP Electrified table "%s"."%s"', e.schema_name, e.table_name),
        e.schema_name, e.table_name);
    ELSE
      PERFORM electric.__reject_ddl('EX010',
        format('Cannot drop column "%s" of electrified table "%s"."%s"', obj.address_names[3],
               e.schema_name, e.table_name),
        e.schema_name, e.table_name);
    END IF;
  END LOOP;
END;
$$;
`;

/** Creates (or recreates) the event triggers; needs a superuser. */
export const INSTALL_DDL_GUARD_SQL = /* sql */ `
DROP EVENT TRIGGER IF EXISTS electric_ddl_command_end;
CREATE EVENT TRIGGER electric_ddl_command_end ON ddl_command_end
  EXECUTE FUNCTION electric.__on_ddl_command_end();
DROP EVENT TRIGGER IF EXISTS electric_sql_drop;
CREATE EVENT TRIGGER electric_sql_drop ON sql_drop
  EXECUTE FUNCTION electric.__on_sql_drop();
DROP EVENT TRIGGER IF EXISTS electric_drop_index_start;
CREATE EVENT TRIGGER electric_drop_index_start ON ddl_command_start WHEN TAG IN ('DROP INDEX')
  EXECUTE FUNCTION electric.__on_drop_index_start();
`;
