/**
 * The entry points: `electric.install_shadow_objects` (called by electrify), the regeneration
 * of a table's functions, and `electric.shadow_add_column` (after ADD COLUMN). Tables and
 * triggers are created once; functions are regenerated from the catalog whenever the table's
 * columns change, and the triggers keep calling them by the same name and oid.
 */

export const INSTALL_ROUTINES_SQL = /* sql */ `
-- Generated functions run as their owner (the service's role, which owns the shadow tables
-- and may emit logical messages), with a fixed search path since they are SECURITY DEFINER.
-- A body that touches nothing (definer = false) runs as its caller and skips that setup.
-- The four-argument version of earlier installations would make four-argument calls ambiguous.
DROP FUNCTION IF EXISTS electric.__shadow_define_function(text, text, text, text);
CREATE OR REPLACE FUNCTION electric.__shadow_define_function(
  function_name text, arguments text, returns text, body text, definer boolean DEFAULT true
) RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN
  EXECUTE format(
    'CREATE OR REPLACE FUNCTION electric.%I(%s) RETURNS %s LANGUAGE plpgsql %s AS %L',
    function_name, arguments, returns,
    CASE WHEN definer THEN 'SECURITY DEFINER SET search_path = pg_catalog, pg_temp'
         ELSE 'SECURITY INVOKER' END,
    E'#variable_conflict use_column\\n' || body);
END;
$$;

-- (Re)defines send_self_trigger___<s>__<t> of an electrified table from the catalog.
CREATE OR REPLACE PROCEDURE electric.__shadow_define_send_self_trigger(rel regclass)
LANGUAGE plpgsql SET search_path = pg_catalog AS $$
DECLARE
  nm record;
BEGIN
  SELECT * INTO nm FROM electric.__shadow_names(rel);
  PERFORM electric.__shadow_define_function(
    electric.__shadow_function_name('send_self_trigger', nm.schema_name, nm.table_name), '',
    'trigger', electric.__shadow_body__send_self_trigger(rel),
    NOT electric.__shadow_send_self_is_empty(rel));
END;
$$;

-- enable_mode: 'ALWAYS' (fires whatever session_replication_role is) or 'ORIGIN' (the default:
-- not in the built-in replica role, i.e. not in the subscription's apply worker).
CREATE OR REPLACE FUNCTION electric.__shadow_replace_trigger(
  on_table text, trigger_name text, definition text, enable_mode text
) RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN
  -- Checked first: DROP TRIGGER IF EXISTS would tell the user about each missing trigger.
  IF EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = on_table::regclass AND tgname = trigger_name) THEN
    EXECUTE format('DROP TRIGGER %I ON %s', trigger_name, on_table);
  END IF;
  EXECUTE definition;
  EXECUTE format('ALTER TABLE %s ENABLE %s TRIGGER %I', on_table,
                 CASE enable_mode WHEN 'ALWAYS' THEN 'ALWAYS' ELSE '' END, trigger_name);
END;
$$;

CREATE OR REPLACE PROCEDURE electric.reinstall_shadow_functions(schema_name text, table_name text)
LANGUAGE plpgsql SET search_path = pg_catalog AS $$
DECLARE
  rel regclass := format('%I.%I', schema_name, table_name)::regclass;
  kind text;
  function_name text;
  arguments text;
  parent record;
BEGIN
  FOREACH kind IN ARRAY ARRAY[
    'generate_tombstone_entry', 'create_shadow_row_from_upsert', 'update_shadow_row_from_delete',
    'write_correct_max_tag', 'reorder_main_op', 'shadow_insert_to_upsert', 'resolve_observed_tags'
  ] LOOP
    EXECUTE format('SELECT electric.__shadow_define_function($1, '''', ''trigger'', electric.%I($2))',
                   '__shadow_body__' || kind)
      USING electric.__shadow_function_name(kind, schema_name, table_name), rel;
  END LOOP;
  -- These two can be called directly and run as the service's role (perform_reordered_op
  -- writes the user table as told), so only that role and the triggers may call them.
  function_name := electric.__shadow_function_name('perform_reordered_op', schema_name, table_name);
  arguments := format('_e_row electric.%I', electric.__shadow_table_name('shadow', schema_name, table_name));
  PERFORM electric.__shadow_define_function(function_name, arguments, 'void',
    electric.__shadow_body__perform_reordered_op(rel));
  EXECUTE format('REVOKE ALL ON FUNCTION electric.%I(%s) FROM PUBLIC', function_name, arguments);

  function_name := electric.__shadow_function_name('send_self_and_references', schema_name, table_name);
  arguments := electric.__shadow_format_columns(rel, 'pk', '%3$s', ', ');
  PERFORM electric.__shadow_define_function(function_name, arguments, 'void',
    electric.__shadow_body__send_self_and_references(rel));
  EXECUTE format('REVOKE ALL ON FUNCTION electric.%I(%s) FROM PUBLIC', function_name, arguments);

  CALL electric.__shadow_define_send_self_trigger(rel);
  -- The electrified tables this one references now have a referencing table: their
  -- send_self_trigger starts recording the rows they write (see its generator).
  FOR parent IN
    SELECT DISTINCT format('%I.%I', n.nspname, c.relname)::regclass AS rel
      FROM pg_constraint f
      JOIN pg_class c ON c.oid = f.confrelid
      JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE f.conrelid = rel AND f.contype = 'f' AND f.confrelid <> rel
       AND to_regclass(format('electric.%I', electric.__shadow_table_name('shadow', n.nspname, c.relname))) IS NOT NULL
  LOOP
    CALL electric.__shadow_define_send_self_trigger(parent.rel);
  END LOOP;
END;
$$;

-- Creates the shadow and tombstone tables, the generated functions and the triggers of one
-- table (postgres-side.md §3.4). The caller has validated the table (it has a primary key).
-- Re-running it recreates functions and triggers and leaves existing tables as they are.
CREATE OR REPLACE PROCEDURE electric.install_shadow_objects(schema_name text, table_name text)
LANGUAGE plpgsql SET search_path = pg_catalog AS $$
DECLARE
  rel regclass := format('%I.%I', schema_name, table_name)::regclass;
  user_table text := format('%I.%I', schema_name, table_name);
  shadow_table text := format('electric.%I', electric.__shadow_table_name('shadow', schema_name, table_name));
  tombstone_table text := format('electric.%I', electric.__shadow_table_name('tombstone', schema_name, table_name));
  pk_list text := electric.__shadow_format_columns(rel, 'pk', '%1$I', ', ');
  -- Not electric.__session_replication_role() = 'replica': a trigger's WHEN is read back from
  -- the catalog and prepared again for every statement on its table (most of them run inside
  -- other triggers, one row each), so it is kept to a single call that is not inlined.
  role_is_replica text := $c$electric.__is_replica()$c$;

  -- Trigger functions of this table, quoted and qualified.
  fn_tombstone text := format('electric.%I', electric.__shadow_function_name('generate_tombstone_entry', schema_name, table_name));
  fn_upsert text := format('electric.%I', electric.__shadow_function_name('create_shadow_row_from_upsert', schema_name, table_name));
  fn_delete text := format('electric.%I', electric.__shadow_function_name('update_shadow_row_from_delete', schema_name, table_name));
  fn_max_tag text := format('electric.%I', electric.__shadow_function_name('write_correct_max_tag', schema_name, table_name));
  fn_reorder text := format('electric.%I', electric.__shadow_function_name('reorder_main_op', schema_name, table_name));
  fn_upsert_shadow text := format('electric.%I', electric.__shadow_function_name('shadow_insert_to_upsert', schema_name, table_name));
  fn_resolve text := format('electric.%I', electric.__shadow_function_name('resolve_observed_tags', schema_name, table_name));
  fn_send_self text := format('electric.%I', electric.__shadow_function_name('send_self_trigger', schema_name, table_name));
BEGIN
  -- Existence is checked first: IF NOT EXISTS would tell the user about each skipped table.
  IF to_regclass(shadow_table) IS NULL THEN
    EXECUTE format($ddl$
      CREATE TABLE %1$s (
        _tags electric.tag[] DEFAULT '{}',
        _last_modified bigint,
        _is_a_delete_operation boolean DEFAULT false,
        _tag electric.tag,
        _observed_tags electric.tag[],
        _modified_columns_bit_mask boolean[],
        _resolved boolean,
        _currently_reordering boolean%2$s%3$s,
        PRIMARY KEY (%4$s)
      )$ddl$,
      shadow_table,
      electric.__shadow_format_columns(rel, 'value', E',\\n      %5$I %3$s', ''),
      electric.__shadow_format_columns(rel, 'all', E',\\n      %4$I electric.tag', '', E',\\n      %1$I %3$s NOT NULL'),
      pk_list);
  END IF;
  EXECUTE format('ALTER TABLE %s REPLICA IDENTITY FULL', shadow_table);

  IF to_regclass(tombstone_table) IS NULL THEN
    EXECUTE format('CREATE TABLE %s (%s, PRIMARY KEY (%s))', tombstone_table,
      electric.__shadow_format_columns(rel, 'all', '%1$I %3$s%6$s', ', '),
      pk_list);
  END IF;

  CALL electric.reinstall_shadow_functions(schema_name, table_name);

  PERFORM electric.__shadow_replace_trigger(user_table, 'as_first__save_deleted_rows_to_tombstone_table',
    format('CREATE TRIGGER as_first__save_deleted_rows_to_tombstone_table AFTER DELETE ON %s '
           'FOR EACH ROW EXECUTE FUNCTION %s()', user_table, fn_tombstone),
    'ALWAYS');
  PERFORM electric.__shadow_replace_trigger(user_table, 'postgres_write__upsert_generate_shadow_rows',
    format('CREATE TRIGGER postgres_write__upsert_generate_shadow_rows BEFORE INSERT OR UPDATE ON %s '
           'FOR EACH ROW WHEN (NOT %s) EXECUTE FUNCTION %s()', user_table, role_is_replica, fn_upsert),
    'ORIGIN');
  PERFORM electric.__shadow_replace_trigger(user_table, 'postgres_write__delete_generate_shadow_rows',
    format('CREATE TRIGGER postgres_write__delete_generate_shadow_rows BEFORE DELETE ON %s '
           'FOR EACH ROW WHEN (NOT %s) EXECUTE FUNCTION %s()', user_table, role_is_replica, fn_delete),
    'ORIGIN');
  PERFORM electric.__shadow_replace_trigger(user_table, 'satellite_write__save_operation_for_reordering',
    format('CREATE TRIGGER satellite_write__save_operation_for_reordering BEFORE INSERT OR UPDATE ON %s '
           'FOR EACH ROW WHEN (%s AND pg_catalog.pg_trigger_depth() = 0) EXECUTE FUNCTION %s()',
           user_table, role_is_replica, fn_reorder),
    'ALWAYS');
  PERFORM electric.__shadow_replace_trigger(user_table, 'send_self_and_references_on_insert',
    format('CREATE TRIGGER send_self_and_references_on_insert AFTER INSERT ON %s '
           'REFERENCING NEW TABLE AS _e_new_rows FOR EACH STATEMENT EXECUTE FUNCTION %s()',
           user_table, fn_send_self),
    'ALWAYS');
  PERFORM electric.__shadow_replace_trigger(user_table, 'send_self_and_references_on_update',
    format('CREATE TRIGGER send_self_and_references_on_update AFTER UPDATE ON %s '
           'REFERENCING NEW TABLE AS _e_new_rows FOR EACH STATEMENT EXECUTE FUNCTION %s()',
           user_table, fn_send_self),
    'ALWAYS');
  PERFORM electric.__shadow_replace_trigger(shadow_table, 'postgres_write__write_resolved_tags',
    format('CREATE CONSTRAINT TRIGGER postgres_write__write_resolved_tags AFTER UPDATE ON %s '
           'DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (NOT %s AND NOT NEW._resolved) '
           'EXECUTE FUNCTION %s()', shadow_table, role_is_replica, fn_max_tag),
    'ORIGIN');
  PERFORM electric.__shadow_replace_trigger(shadow_table, 'satellite_write__upsert_rows',
    format('CREATE TRIGGER satellite_write__upsert_rows BEFORE INSERT ON %s FOR EACH ROW '
           'WHEN (%s AND pg_catalog.pg_trigger_depth() = 0 AND NEW._currently_reordering IS NULL) '
           'EXECUTE FUNCTION %s()', shadow_table, role_is_replica, fn_upsert_shadow),
    'ALWAYS');
  PERFORM electric.__shadow_replace_trigger(shadow_table, 'satellite_write__resolve_observed_tags',
    format('CREATE TRIGGER satellite_write__resolve_observed_tags BEFORE UPDATE ON %s FOR EACH ROW '
           'WHEN (%s AND NEW._currently_reordering IS NULL) EXECUTE FUNCTION %s()',
           shadow_table, role_is_replica, fn_resolve),
    'ALWAYS');
END;
$$;

-- After ALTER TABLE ... ADD COLUMN on an electrified table (postgres-side.md §4.4). The type
-- is read from the catalog when the column exists (so it is schema-qualified and carries its
-- typmod exactly); column_type is the fallback. The tombstone copy is NOT NULL like the user
-- column only while the tombstone table is empty, since older tombstones have no value for it.
CREATE OR REPLACE PROCEDURE electric.shadow_add_column(
  schema_name text, table_name text, column_name text, column_type text
) LANGUAGE plpgsql SET search_path = pg_catalog AS $$
DECLARE
  rel regclass := format('%I.%I', schema_name, table_name)::regclass;
  tombstone_table text := format('electric.%I', electric.__shadow_table_name('tombstone', schema_name, table_name));
  col record;
  has_tombstones boolean;
BEGIN
  SELECT c.type, c.not_null INTO col FROM electric.__shadow_columns(rel) c WHERE c.name = column_name;
  IF coalesce(col.type, column_type) IS NULL THEN
    RAISE EXCEPTION 'Cannot add column "%" to the shadow of %: its type is unknown', column_name, rel;
  END IF;
  EXECUTE format('ALTER TABLE electric.%I ADD COLUMN IF NOT EXISTS %I %s, ADD COLUMN IF NOT EXISTS %I electric.tag',
    electric.__shadow_table_name('shadow', schema_name, table_name),
    '__reordered_' || column_name, coalesce(col.type, column_type), '_tag_' || column_name);
  EXECUTE format('ALTER TABLE %s ADD COLUMN IF NOT EXISTS %I %s',
    tombstone_table, column_name, coalesce(col.type, column_type));
  IF coalesce(col.not_null, false) THEN
    EXECUTE format('SELECT EXISTS (SELECT 1 FROM %s)', tombstone_table) INTO has_tombstones;
    IF NOT has_tombstones THEN
      EXECUTE format('ALTER TABLE %s ALTER COLUMN %I SET NOT NULL', tombstone_table, column_name);
    END IF;
  END IF;
  CALL electric.reinstall_shadow_functions(schema_name, table_name);
END;
$$;

-- The reference's name for the same operation (postgres-side.md §2.5); only 'add' exists.
CREATE OR REPLACE PROCEDURE electric.alter_shadow_table(
  schema_name text, table_name text, action text, column_name text, column_type text
) LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN
  IF lower(action) <> 'add' THEN
    RAISE EXCEPTION 'Unsupported shadow table action "%": only "add" is supported', action;
  END IF;
  CALL electric.shadow_add_column(schema_name, table_name, column_name, column_type);
END;
$$;

-- Regenerates the functions of every electrified table that has a shadow table, for a service
-- upgrade that changed the generators.
CREATE OR REPLACE PROCEDURE electric.reinstall_all_shadow_functions()
LANGUAGE plpgsql SET search_path = pg_catalog AS $$
DECLARE
  e record;
BEGIN
  FOR e IN
    SELECT el.schema_name, el.table_name FROM electric.electrified el
     WHERE to_regclass(format('electric.%I', electric.__shadow_table_name('shadow', el.schema_name, el.table_name))) IS NOT NULL
       AND to_regclass(format('%I.%I', el.schema_name, el.table_name)) IS NOT NULL
     ORDER BY el.id
  LOOP
    CALL electric.reinstall_shadow_functions(e.schema_name, e.table_name);
  END LOOP;
END;
$$;
`;
