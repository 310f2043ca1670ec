/**
 * The DDLX permission procedures (`electric.grant`, `revoke`, `assign`, `unassign`) that the
 * migrations proxy calls for `ELECTRIC GRANT …` and friends, and that users may call directly.
 * They validate, normalise and store rules in `electric.grants` and `electric.assignments`;
 * enforcing them is the service's job (it reads those tables and follows their changes in the
 * replication stream).
 *
 * Stored forms (what the service reads):
 * - tables and scopes as `"schema"."table"` (the proxy's rendering; quotes doubled), whatever
 *   spelling was given (`items`, `public.items`, `"public"."items"`; unquoted parts folded to
 *   lower case, default schema `public`);
 * - `grants`: one row per column, `'*'` meaning every column; `role` is the bare role name
 *   (`'projects:admin'` is stored as role `admin`, scope `"public"."projects"`), the built-ins
 *   are `ANYONE` and `AUTHENTICATED`; `scope` is `__global__` or a scope table; one grant
 *   (privilege, table, role, scope) has one `using_path`/`check_fn`: the latest given;
 * - `assignments`: `scope_table`, `role_name` and `role_column` hold `__none__` when absent.
 *
 * Errors carry a SQLSTATE (22023 bad argument, 42P01 unknown table, 42703 unknown column,
 * 55000 table not electrified, 42830 no usable foreign key to the scope, 0A000 unsupported
 * scope key) and a message naming the value. The procedures are SECURITY DEFINER with a fixed
 * search path, and not executable by PUBLIC: permission rules are as sensitive as the data,
 * so only the service's role (which the proxy connects as) and roles it grants EXECUTE to may
 * change them. The routines are redefined on every start (create or replace), after the
 * install steps, one of which is `PERMISSIONS_STEP_SQL` (step_sql.ts).
 *
 * An assignment with a scope needs the assignment table to say which scope row a role is held
 * in: `electric.assignment_scope_column(assign_table, scope_table)` finds that column from the
 * catalog (nothing extra is stored), and ASSIGN fails when there is none.
 */

export const PERMISSIONS_ROUTINES_SQL = /* sql */ `
-- "schema"."table", as the proxy renders table names.
CREATE OR REPLACE FUNCTION electric.__ddlx_quote_table(schema_name text, table_name text) RETURNS text
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog AS $$
  SELECT '"' || replace(schema_name, '"', '""') || '"."' || replace(table_name, '"', '""') || '"'
$$;

-- A relation's name as "schema"."table".
CREATE OR REPLACE FUNCTION electric.__ddlx_label(rel regclass) RETURNS text
LANGUAGE sql STABLE SET search_path = pg_catalog AS $$
  SELECT electric.__ddlx_quote_table(n.nspname, c.relname)
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = rel
$$;

-- A table name as written (table, schema.table, "schema"."table") in canonical form.
-- what: the argument, for messages ('table', 'scope table').
CREATE OR REPLACE FUNCTION electric.__ddlx_table(table_text text, what text) RETURNS text
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog AS $$
DECLARE
  parts text[];
BEGIN
  IF table_text IS NULL OR table_text = '' THEN
    RAISE EXCEPTION 'No % given', what USING ERRCODE = '22023';
  END IF;
  BEGIN
    parts := parse_ident(table_text);
  EXCEPTION WHEN OTHERS THEN
    parts := NULL;
  END;
  IF parts IS NULL OR cardinality(parts) > 2 THEN
    RAISE EXCEPTION 'Invalid % name "%": expected table, schema.table or "schema"."table"',
      what, table_text USING ERRCODE = '22023';
  END IF;
  IF cardinality(parts) = 1 THEN
    parts := ARRAY['public', parts[1]];
  END IF;
  RETURN electric.__ddlx_quote_table(parts[1], parts[2]);
END;
$$;

-- A scope as written: NULL for none (NULL, __global__, __none__), else a canonical table name.
CREATE OR REPLACE FUNCTION electric.__ddlx_scope(scope_text text) RETURNS text
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog AS $$
  SELECT CASE WHEN scope_text IS NULL OR scope_text IN ('__global__', '__none__') THEN NULL
              ELSE electric.__ddlx_table(scope_text, 'scope table') END
$$;

-- An electrified table by canonical name, or an error naming it. what: 'Table', 'Scope table'.
CREATE OR REPLACE FUNCTION electric.__ddlx_electrified(canonical text, what text) RETURNS regclass
LANGUAGE plpgsql STABLE SET search_path = pg_catalog AS $$
DECLARE
  parts text[] := parse_ident(canonical);
  rel regclass := to_regclass(format('%I.%I', parts[1], parts[2]));
BEGIN
  IF rel IS NULL THEN
    RAISE EXCEPTION '% % does not exist', what, canonical USING ERRCODE = '42P01';
  END IF;
  IF NOT EXISTS (SELECT 1 FROM electric.electrified e
                  WHERE e.schema_name = parts[1] AND e.table_name = parts[2]) THEN
    RAISE EXCEPTION '% % is not electrified', what, canonical
      USING ERRCODE = '55000',
            HINT = format('Electrify it first: ALTER TABLE %s ENABLE ELECTRIC', canonical);
  END IF;
  RETURN rel;
END;
$$;

-- Raises unless column_name is a live column of rel. what: 'Column', 'User column', ….
CREATE OR REPLACE FUNCTION electric.__ddlx_require_column(rel regclass, column_name text, what text)
RETURNS void LANGUAGE plpgsql STABLE SET search_path = pg_catalog AS $$
BEGIN
  IF column_name IS NULL OR NOT EXISTS (
    SELECT 1 FROM pg_attribute a
     WHERE a.attrelid = rel AND a.attname = column_name AND a.attnum > 0 AND NOT a.attisdropped
  ) THEN
    RAISE EXCEPTION '% "%" does not exist in table %', what, coalesce(column_name, ''),
      electric.__ddlx_label(rel) USING ERRCODE = '42703';
  END IF;
END;
$$;

-- A privilege in lower case, or an error.
CREATE OR REPLACE FUNCTION electric.__ddlx_privilege(privilege_text text) RETURNS text
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog AS $$
BEGIN
  IF lower(privilege_text) IN ('select', 'insert', 'update', 'delete') THEN
    RETURN lower(privilege_text);
  END IF;
  RAISE EXCEPTION 'Invalid privilege "%": expected select, insert, update or delete',
    coalesce(privilege_text, '') USING ERRCODE = '22023';
END;
$$;

-- A column list: NULL means every column ('*'); duplicates dropped, order kept.
CREATE OR REPLACE FUNCTION electric.__ddlx_columns(columns text[]) RETURNS text[]
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog AS $$
BEGIN
  IF columns IS NULL THEN
    RETURN ARRAY['*'];
  END IF;
  IF cardinality(columns) = 0 THEN
    RAISE EXCEPTION 'No columns given: pass ARRAY[''*''] for every column' USING ERRCODE = '22023';
  END IF;
  IF EXISTS (SELECT 1 FROM unnest(columns) c WHERE c IS NULL OR c = '') THEN
    RAISE EXCEPTION 'Invalid column list %: column names cannot be empty', columns
      USING ERRCODE = '22023';
  END IF;
  IF '*' = ANY (columns) AND EXISTS (SELECT 1 FROM unnest(columns) c WHERE c <> '*') THEN
    RAISE EXCEPTION 'Invalid column list %: ''*'' (every column) cannot be combined with column names',
      columns USING ERRCODE = '22023';
  END IF;
  RETURN ARRAY(SELECT c FROM unnest(columns) WITH ORDINALITY u(c, i) GROUP BY c ORDER BY min(i));
END;
$$;

-- A role as written ('name' or 'scope:name') with the scope argument: {name, canonical scope
-- or NULL}. The scope of 'scope:name' and the scope argument must agree when both are given.
CREATE OR REPLACE FUNCTION electric.__ddlx_role(role_text text, scope_text text) RETURNS text[]
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog AS $$
DECLARE
  colon int := strpos(role_text, ':');
  role_name text := role_text;
  role_scope text;
  given_scope text := electric.__ddlx_scope(scope_text);
BEGIN
  IF role_text IS NULL THEN
    RAISE EXCEPTION 'No role given' USING ERRCODE = '22023';
  END IF;
  IF colon > 0 THEN
    role_name := substr(role_text, colon + 1);
    IF colon = 1 OR role_name = '' OR strpos(role_name, ':') > 0 THEN
      RAISE EXCEPTION 'Invalid role "%": expected name or scope:name, both parts non-empty', role_text
        USING ERRCODE = '22023';
    END IF;
    role_scope := electric.__ddlx_table(left(role_text, colon - 1), 'scope table');
  ELSIF role_text = '' THEN
    RAISE EXCEPTION 'Invalid role "": a role name cannot be empty' USING ERRCODE = '22023';
  END IF;
  IF role_scope IS NOT NULL AND given_scope IS NOT NULL AND role_scope <> given_scope THEN
    RAISE EXCEPTION 'Role "%" is scoped to % but the scope given is %', role_text, role_scope, given_scope
      USING ERRCODE = '22023';
  END IF;
  IF role_name IN ('__global__', '__none__') THEN
    RAISE EXCEPTION 'Invalid role "%": the name is reserved', role_text USING ERRCODE = '22023';
  END IF;
  given_scope := coalesce(given_scope, role_scope);
  IF role_name IN ('ANYONE', 'AUTHENTICATED') AND given_scope IS NOT NULL THEN
    RAISE EXCEPTION 'Built-in role "%" cannot be scoped (scope %)', role_name, given_scope
      USING ERRCODE = '22023';
  END IF;
  RETURN ARRAY[role_name, given_scope];
END;
$$;

-- The column of assign_table that holds the id of the scope row an assignment row gives a role
-- in: its single-column foreign key to scope_table's primary key, or that primary key itself
-- when both are the same table (the row is its own scope). Raises when there is none, or more
-- than one, or the scope table's primary key has several columns.
CREATE OR REPLACE FUNCTION electric.assignment_scope_column(assign_table regclass, scope_table regclass)
RETURNS name LANGUAGE plpgsql STABLE SET search_path = pg_catalog AS $$
DECLARE
  pk int2[];
  found name[];
BEGIN
  SELECT con.conkey INTO pk FROM pg_constraint con
   WHERE con.conrelid = scope_table AND con.contype = 'p';
  IF pk IS NULL OR cardinality(pk) <> 1 THEN
    RAISE EXCEPTION 'Scope table % needs a single-column primary key to scope roles',
      electric.__ddlx_label(scope_table) USING ERRCODE = '0A000';
  END IF;
  IF assign_table = scope_table THEN
    RETURN (SELECT a.attname FROM pg_attribute a WHERE a.attrelid = scope_table AND a.attnum = pk[1]);
  END IF;
  found := ARRAY(
    SELECT DISTINCT a.attname FROM pg_constraint con
      JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = con.conkey[1]
     WHERE con.conrelid = assign_table AND con.contype = 'f' AND con.confrelid = scope_table
       AND cardinality(con.conkey) = 1 AND con.confkey = pk
     ORDER BY a.attname);
  IF cardinality(found) = 0 THEN
    RAISE EXCEPTION 'Table % has no foreign key to scope table %: add a column referencing its primary key',
      electric.__ddlx_label(assign_table), electric.__ddlx_label(scope_table) USING ERRCODE = '42830';
  END IF;
  IF cardinality(found) > 1 THEN
    RAISE EXCEPTION 'Table % has several foreign keys to scope table % (columns %): the scope is ambiguous',
      electric.__ddlx_label(assign_table), electric.__ddlx_label(scope_table),
      array_to_string(found, ', ') USING ERRCODE = '42830';
  END IF;
  RETURN found[1];
END;
$$;

CREATE OR REPLACE PROCEDURE electric.grant(
  privilege_name text,
  on_table_name text,
  role_name text,
  columns text[] DEFAULT ARRAY['*'],
  scope_name text DEFAULT '__global__',
  using_path text DEFAULT NULL,
  check_fn text DEFAULT NULL
)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  v_privilege text := electric.__ddlx_privilege(privilege_name);
  v_table text := electric.__ddlx_table(on_table_name, 'table');
  v_rel regclass := electric.__ddlx_electrified(v_table, 'Table');
  v_role text[] := electric.__ddlx_role(role_name, scope_name);
  v_scope text := coalesce(v_role[2], '__global__');
  v_columns text[] := electric.__ddlx_columns(columns);
  v_using text := using_path;
  v_check text := check_fn;
  v_column text;
BEGIN
  IF v_role[2] IS NOT NULL THEN
    PERFORM electric.__ddlx_electrified(v_role[2], 'Scope table');
  END IF;
  FOREACH v_column IN ARRAY v_columns LOOP
    IF v_column <> '*' THEN
      PERFORM electric.__ddlx_require_column(v_rel, v_column, 'Column');
    END IF;
  END LOOP;
  INSERT INTO electric.grants (privilege, on_table, role, column_name, scope, using_path, check_fn)
    SELECT v_privilege, v_table, v_role[1], c, v_scope, v_using, v_check FROM unnest(v_columns) c
    ON CONFLICT DO NOTHING;
  -- A grant has one USING path and one CHECK, whichever columns it covers: the latest given.
  UPDATE electric.grants g SET using_path = v_using, check_fn = v_check
   WHERE g.privilege = v_privilege AND g.on_table = v_table AND g.role = v_role[1]
     AND g.scope = v_scope
     AND (g.using_path IS DISTINCT FROM v_using OR g.check_fn IS DISTINCT FROM v_check);
END;
$$;

-- Deletes the matching grant rows: every column when columns holds '*', else those named.
-- Revoking what was not granted is not an error (a notice says so).
CREATE OR REPLACE PROCEDURE electric.revoke(
  privilege_name text,
  on_table_name text,
  role_name text,
  columns text[] DEFAULT ARRAY['*'],
  scope_name text DEFAULT '__global__'
)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  v_privilege text := electric.__ddlx_privilege(privilege_name);
  v_table text := electric.__ddlx_table(on_table_name, 'table');
  v_role text[] := electric.__ddlx_role(role_name, scope_name);
  v_scope text := coalesce(v_role[2], '__global__');
  v_columns text[] := electric.__ddlx_columns(columns);
  v_count int8;
BEGIN
  DELETE FROM electric.grants g
   WHERE g.privilege = v_privilege AND g.on_table = v_table AND g.role = v_role[1]
     AND g.scope = v_scope AND ('*' = ANY (v_columns) OR g.column_name = ANY (v_columns));
  GET DIAGNOSTICS v_count = ROW_COUNT;
  IF v_count = 0 THEN
    RAISE NOTICE 'Nothing to revoke: % on % was not granted to "%" (scope %)',
      v_privilege, v_table, v_role[1], v_scope;
  END IF;
END;
$$;

-- The role of an assignment as stored: {role_name or __none__, role_column or __none__, scope
-- or NULL}. Exactly one of role_name_string and role_column_name is given.
CREATE OR REPLACE FUNCTION electric.__ddlx_assignment_role(
  scope_text text, role_name_string text, role_column_name text
) RETURNS text[] LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog AS $$
DECLARE
  v_role text[];
BEGIN
  IF role_name_string IS NULL AND role_column_name IS NULL THEN
    RAISE EXCEPTION 'No role given: pass role_name_string or role_column_name' USING ERRCODE = '22023';
  END IF;
  IF role_name_string IS NOT NULL AND role_column_name IS NOT NULL THEN
    RAISE EXCEPTION 'Both a role name ("%") and a role column ("%") given: pass one',
      role_name_string, role_column_name USING ERRCODE = '22023';
  END IF;
  IF role_column_name IS NOT NULL THEN
    RETURN ARRAY['__none__', role_column_name, electric.__ddlx_scope(scope_text)];
  END IF;
  v_role := electric.__ddlx_role(role_name_string, scope_text);
  IF v_role[1] IN ('ANYONE', 'AUTHENTICATED') THEN
    RAISE EXCEPTION 'Built-in role "%" cannot be assigned: users hold it without assignments', v_role[1]
      USING ERRCODE = '22023';
  END IF;
  RETURN ARRAY[v_role[1], '__none__', v_role[2]];
END;
$$;

CREATE OR REPLACE PROCEDURE electric.assign(
  assign_table_full_name text,
  scope text,
  user_column_name text,
  role_name_string text DEFAULT NULL,
  role_column_name text DEFAULT NULL,
  if_fn text DEFAULT NULL
)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  v_table text := electric.__ddlx_table(assign_table_full_name, 'table');
  v_rel regclass := electric.__ddlx_electrified(v_table, 'Table');
  v_role text[] := electric.__ddlx_assignment_role(scope, role_name_string, role_column_name);
  v_user_column text := user_column_name;
  v_if text := if_fn;
BEGIN
  IF v_user_column IS NULL OR v_user_column = '' THEN
    RAISE EXCEPTION 'No user column given' USING ERRCODE = '22023';
  END IF;
  PERFORM electric.__ddlx_require_column(v_rel, v_user_column, 'User column');
  IF v_role[2] <> '__none__' THEN
    PERFORM electric.__ddlx_require_column(v_rel, v_role[2], 'Role column');
  END IF;
  IF v_role[3] IS NOT NULL THEN
    PERFORM electric.assignment_scope_column(v_rel, electric.__ddlx_electrified(v_role[3], 'Scope table'));
  END IF;
  INSERT INTO electric.assignments AS a (table_name, scope_table, user_column, role_name, role_column, if_fn)
    VALUES (v_table, coalesce(v_role[3], '__none__'), v_user_column, v_role[1], v_role[2], v_if)
    ON CONFLICT ON CONSTRAINT unique_assign DO UPDATE SET if_fn = excluded.if_fn
    WHERE a.if_fn IS DISTINCT FROM excluded.if_fn;
END;
$$;

-- Deletes the matching assignment; unassigning what was not assigned is not an error.
CREATE OR REPLACE PROCEDURE electric.unassign(
  assign_table_full_name text,
  scope text,
  user_column_name text,
  role_name_string text DEFAULT NULL,
  role_column_name text DEFAULT NULL
)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  v_table text := electric.__ddlx_table(assign_table_full_name, 'table');
  v_role text[] := electric.__ddlx_assignment_role(scope, role_name_string, role_column_name);
  v_user_column text := user_column_name;
  v_count int8;
BEGIN
  DELETE FROM electric.assignments a
   WHERE a.table_name = v_table AND a.scope_table = coalesce(v_role[3], '__none__')
     AND a.user_column = v_user_column AND a.role_name = v_role[1] AND a.role_column = v_role[2];
  GET DIAGNOSTICS v_count = ROW_COUNT;
  IF v_count = 0 THEN
    RAISE NOTICE 'Nothing to unassign: no such assignment on %', v_table;
  END IF;
END;
$$;

REVOKE ALL ON PROCEDURE electric.grant(text, text, text, text[], text, text, text) FROM PUBLIC;
REVOKE ALL ON PROCEDURE electric.revoke(text, text, text, text[], text) FROM PUBLIC;
REVOKE ALL ON PROCEDURE electric.assign(text, text, text, text, text, text) FROM PUBLIC;
REVOKE ALL ON PROCEDURE electric.unassign(text, text, text, text, text) FROM PUBLIC;
`;
