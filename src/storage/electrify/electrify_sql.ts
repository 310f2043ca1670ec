/**
 * `CALL electric.electrify(...)` and its helpers, as SQL routines (postgres-side.md §3).
 *
 * Validation happens in Postgres, inside the caller's transaction, so electrifying through
 * psql, a migration tool or the migrations proxy behaves the same and fails atomically with a
 * Postgres error. Beyond the reference (its gaps, §3.2): foreign keys must point at electrified
 * tables, identity and generated columns count as defaults, and column names must leave room
 * for the shadow table's `__reordered_<column>` columns.
 *
 * The procedure is SECURITY DEFINER (it runs as the service's role, which owns the electric
 * schema) but deliberately has no `SET search_path`: a one-argument table name is resolved
 * through the caller's search path, as users expect. Everything inside is schema-qualified.
 */

/** Longest column name whose shadow columns (`__reordered_<c>`) still fit in 63 bytes. */
export const MAX_COLUMN_NAME_BYTES = 51;

export const ELECTRIFY_ROUTINES_SQL = /* sql */ `
CREATE OR REPLACE FUNCTION electric.__resolve_table(name1 text, name2 text) RETURNS regclass
LANGUAGE plpgsql STABLE AS $$
BEGIN
  IF name2 IS NOT NULL THEN
    RETURN pg_catalog.format('%I.%I', name1, name2)::pg_catalog.regclass;
  ELSIF pg_catalog.strpos(name1, '.') > 0 THEN
    RETURN name1::pg_catalog.regclass;
  END IF;
  RETURN pg_catalog.format('%I', name1)::pg_catalog.regclass;
END;
$$;

-- NULL when the column type is supported; otherwise the text to show the user.
CREATE OR REPLACE FUNCTION electric.__column_type_problem(type_oid oid, type_mod int) RETURNS text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog AS $$
DECLARE
  t pg_type;
  bad_labels text;
BEGIN
  SELECT * INTO t FROM pg_type WHERE oid = type_oid;
  IF t.typtype = 'e' THEN
    SELECT string_agg(quote_literal(enumlabel), ', ' ORDER BY enumsortorder) INTO bad_labels
      FROM pg_enum WHERE enumtypid = type_oid AND enumlabel !~* '^[a-z][a-z_0-9]*$';
    IF bad_labels IS NULL THEN RETURN NULL; END IF;
    RETURN format('%s (enum type %s contains unsupported values %s)',
                  format_type(type_oid, type_mod), format_type(type_oid, type_mod), bad_labels);
  END IF;
  IF t.typnamespace = 'pg_catalog'::regnamespace THEN
    IF t.typname IN ('int2', 'int4', 'int8', 'float4', 'float8', 'text', 'bool', 'uuid', 'date',
                     'jsonb', 'bytea') THEN
      RETURN NULL;
    END IF;
    -- Lengths and precisions cannot be enforced on clients, so only the bare types pass.
    IF t.typname IN ('varchar', 'time', 'timestamp', 'timestamptz') AND type_mod = -1 THEN
      RETURN NULL;
    END IF;
  END IF;
  RETURN format_type(type_oid, type_mod);
END;
$$;

-- Every reason the table cannot be electrified, first failing check only (as the reference),
-- or NULL when it can.
CREATE OR REPLACE FUNCTION electric.__electrify_problem(rel regclass) RETURNS text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog AS $$
DECLARE
  v_schema text;
  problems text;
BEGIN
  SELECT n.nspname INTO v_schema FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE c.oid = rel;
  IF v_schema <> 'public' THEN
    RETURN format(E'Cannot electrify %s because only tables in the default \`public\` schema can be electrified.\\n\\n'
                  'See https://electric-sql.com/docs/usage/data-modelling/migrations#limitations', rel);
  END IF;

  SELECT string_agg(format('  %s %s', quote_ident(a.attname),
                           electric.__column_type_problem(a.atttypid, a.atttypmod)), E'\\n' ORDER BY a.attnum)
    INTO problems
    FROM pg_attribute a
   WHERE a.attrelid = rel AND a.attnum > 0 AND NOT a.attisdropped
     AND electric.__column_type_problem(a.atttypid, a.atttypmod) IS NOT NULL;
  IF problems IS NOT NULL THEN
    RETURN format(E'Cannot electrify %s because some of its columns have types not supported by Electric:\\n\\n%s\\n\\n'
                  'See https://electric-sql.com/docs/usage/data-modelling/types#supported-data-types', rel, problems);
  END IF;

  -- Identity and generated columns have no DEFAULT row but compute values just the same.
  SELECT string_agg('  ' || quote_ident(a.attname), E'\\n' ORDER BY a.attnum) INTO problems
    FROM pg_attribute a
   WHERE a.attrelid = rel AND a.attnum > 0 AND NOT a.attisdropped
     AND (a.atthasdef OR a.attidentity <> '' OR a.attgenerated <> '');
  IF problems IS NOT NULL THEN
    RETURN format(E'Cannot electrify %s because some of its columns have DEFAULT expressions which are not currently supported by Electric:\\n\\n%s', rel, problems);
  END IF;

  IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = rel AND contype = 'p') THEN
    RETURN format('Cannot electrify %s because it doesn''t have a PRIMARY KEY.', rel);
  END IF;

  SELECT string_agg('  ' || quote_ident(col), E'\\n' ORDER BY kind, col) INTO problems
    FROM (
      SELECT DISTINCT con.contype AS kind, a.attname AS col
        FROM pg_constraint con
        JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = ANY (con.conkey)
       WHERE con.conrelid = rel AND con.contype NOT IN ('p', 'f')
    ) offending;
  IF problems IS NOT NULL THEN
    RETURN format(E'Cannot electrify %s because some of its columns have CHECK, UNIQUE, EXCLUDE or user-defined constraints which are not currently supported by Electric:\\n\\n%s', rel, problems);
  END IF;

  SELECT string_agg(format('  %I references %s', con.conname, con.confrelid::regclass), E'\\n' ORDER BY con.conname)
    INTO problems
    FROM pg_constraint con
   WHERE con.conrelid = rel AND con.contype = 'f'
     AND NOT EXISTS (SELECT 1 FROM electric.electrified e WHERE e.oid = con.confrelid);
  IF problems IS NOT NULL THEN
    RETURN format(E'Cannot electrify %s because some of its foreign keys reference tables that are not electrified:\\n\\n%s\\n\\n'
                  'Electrify the referenced tables first (a table cannot reference itself).', rel, problems);
  END IF;

  SELECT string_agg('  ' || quote_ident(a.attname), E'\\n' ORDER BY a.attnum) INTO problems
    FROM pg_attribute a
   WHERE a.attrelid = rel AND a.attnum > 0 AND NOT a.attisdropped
     AND octet_length(a.attname) > ${MAX_COLUMN_NAME_BYTES};
  IF problems IS NOT NULL THEN
    RETURN format(E'Cannot electrify %s because some of its column names are longer than ${MAX_COLUMN_NAME_BYTES} bytes, which Electric cannot track:\\n\\n%s', rel, problems);
  END IF;
  RETURN NULL;
END;
$$;

CREATE OR REPLACE FUNCTION electric.__refuse_truncate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF coalesce(current_setting('electric.ddl_guard', true), '') IN ('off', 'false', '0') THEN
    RETURN NULL;
  END IF;
  RAISE EXCEPTION 'Cannot TRUNCATE electrified table "%"."%"', TG_TABLE_SCHEMA, TG_TABLE_NAME
    USING ERRCODE = 'EX100',
          DETAIL = 'Clients cannot follow a TRUNCATE; delete the rows with DELETE instead.';
END;
$$;

CREATE OR REPLACE PROCEDURE electric.electrify(name1 text, name2 text DEFAULT NULL)
LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
  rel pg_catalog.regclass := electric.__resolve_table(name1, name2);
  rel_kind "char";
  v_schema text;
  v_table text;
  problem text;
  enum_oid oid;
  has_publication boolean;
BEGIN
  SELECT c.relkind, n.nspname, c.relname INTO rel_kind, v_schema, v_table
    FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
   WHERE c.oid = rel;
  IF rel_kind <> 'r' THEN
    RAISE EXCEPTION '% is not an ordinary table', pg_catalog.format('%I.%I', v_schema, v_table);
  END IF;
  IF EXISTS (SELECT 1 FROM electric.electrified e
              WHERE e.schema_name = v_schema AND e.table_name = v_table) THEN
    RAISE NOTICE 'table %.% is already electrified', v_schema, v_table;
    RETURN;
  END IF;
  problem := electric.__electrify_problem(rel);
  IF problem IS NOT NULL THEN
    RAISE EXCEPTION USING MESSAGE = problem;
  END IF;

  RAISE NOTICE 'Electrify table %.%', v_schema, v_table;
  -- Our own DDL below must not be taken for user DDL by the event triggers.
  PERFORM pg_catalog.set_config('electric.__in_electrify', 'on', true);

  -- The text of each statement is made in client_ddl_sql.ts.
  FOR enum_oid IN SELECT electric.__table_enum_types(rel) LOOP
    CALL electric.capture_ddl(electric.__enum_ddl(enum_oid));
  END LOOP;
  CALL electric.capture_ddl(electric.__table_ddl(rel));

  EXECUTE pg_catalog.format('ALTER TABLE %I.%I REPLICA IDENTITY FULL', v_schema, v_table);
  INSERT INTO electric.electrified (schema_name, table_name, oid) VALUES (v_schema, v_table, rel);
  CALL electric.install_shadow_objects(v_schema, v_table);
  -- Clients cannot follow a TRUNCATE (it carries no rows), so it is refused outright.
  EXECUTE pg_catalog.format(
    'CREATE TRIGGER electric_refuse_truncate BEFORE TRUNCATE ON %I.%I '
    'FOR EACH STATEMENT EXECUTE FUNCTION electric.__refuse_truncate()', v_schema, v_table);

  has_publication := EXISTS (SELECT 1 FROM pg_catalog.pg_publication WHERE pubname = 'electric_publication');
  IF has_publication THEN
    EXECUTE pg_catalog.format('ALTER PUBLICATION electric_publication ADD TABLE %I.%I, electric.%I',
                              v_schema, v_table, 'shadow__' || v_schema || '__' || v_table);
  END IF;
  PERFORM pg_catalog.set_config('electric.__in_electrify', '', true);
END;
$$;

-- What the migrations proxy runs for ALTER TABLE ... ENABLE ELECTRIC.
CREATE OR REPLACE PROCEDURE electric.enable(table_name text)
LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
  CALL electric.electrify(table_name);
END;
$$;

-- There is no way to un-electrify a table in 0.12; say so instead of pretending.
CREATE OR REPLACE PROCEDURE electric.disable(table_name text)
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'ELECTRIC DISABLE is currently unsupported' USING ERRCODE = 'EX001';
END;
$$;
`;
