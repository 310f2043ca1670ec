/**
 * The DDL text that electrification and the DDL guard capture (postgres-side.md §3.3, §4.1):
 * what `electric.ddl_commands` and `electric.schema.migration_ddl` hold and what clients with
 * the Postgres dialect apply as is.
 *
 * Names are written as a client resolves them with the default search path: unqualified when
 * the object is in `public` (`CREATE TABLE items (`, `REFERENCES parents(id)`, `c colour`),
 * qualified otherwise (`other.mood`) or when a `pg_catalog` object of the same name would
 * shadow it. The text never depends on the caller's own search path.
 *
 * How: Postgres's deparsers (`format_type`, `regclass` output, `pg_get_constraintdef`,
 * `pg_get_indexdef`) qualify exactly the names not visible on the current search path, so the
 * `__client_*` functions call them with `search_path = pg_catalog, public, pg_temp` (pg_catalog
 * first, as for a client; temporary objects last so they never hide anything). Those functions
 * only call schema-qualified built-ins with exactly typed arguments, so nothing placed in
 * `public` can stand in for them. `pg_get_indexdef` always qualifies the indexed table; that
 * one name is replaced. Everything else runs with `search_path = pg_catalog`.
 *
 * Routines are create-or-replace and redefined on every start (src/storage/bootstrap), so an
 * existing installation picks up a change here at its next start.
 */

export const CLIENT_DDL_ROUTINES_SQL = /* sql */ `
CREATE OR REPLACE FUNCTION electric.__client_type_name(type_oid oid, type_mod int4) RETURNS text
LANGUAGE sql STABLE SET search_path = pg_catalog, public, pg_temp AS $$
  SELECT pg_catalog.format_type(type_oid, type_mod)
$$;

CREATE OR REPLACE FUNCTION electric.__client_relation_name(rel oid) RETURNS text
LANGUAGE sql STABLE SET search_path = pg_catalog, public, pg_temp AS $$
  SELECT pg_catalog.textin(pg_catalog.regclassout(rel::pg_catalog.regclass))
$$;

CREATE OR REPLACE FUNCTION electric.__client_constraintdef(con oid) RETURNS text
LANGUAGE sql STABLE SET search_path = pg_catalog, public, pg_temp AS $$
  SELECT pg_catalog.pg_get_constraintdef(con, true)
$$;

CREATE OR REPLACE FUNCTION electric.__client_indexdef(index_oid oid) RETURNS text
LANGUAGE sql STABLE SET search_path = pg_catalog, public, pg_temp AS $$
  SELECT pg_catalog.pg_get_indexdef(index_oid)
$$;

-- A dropped relation's name (the catalog row is gone, so it is decided from its parts).
CREATE OR REPLACE FUNCTION electric.__client_dropped_relation_name(schema_name text, rel_name text)
RETURNS text LANGUAGE sql STABLE SET search_path = pg_catalog AS $$
  SELECT CASE
           WHEN schema_name = 'public'
                AND NOT EXISTS (SELECT 1 FROM pg_class
                                 WHERE relnamespace = 'pg_catalog'::regnamespace AND relname = rel_name)
           THEN format('%I', rel_name)
           ELSE format('%I.%I', schema_name, rel_name)
         END
$$;

-- CREATE TYPE ... AS ENUM of an enum type, labels in their order.
CREATE OR REPLACE FUNCTION electric.__enum_ddl(type_oid oid) RETURNS text
LANGUAGE sql STABLE SET search_path = pg_catalog AS $$
  SELECT format('CREATE TYPE %s AS ENUM (%s);', electric.__client_type_name(t.oid, -1),
                (SELECT string_agg(quote_literal(e.enumlabel), ', ' ORDER BY e.enumsortorder)
                   FROM pg_enum e WHERE e.enumtypid = t.oid))
    FROM pg_type t
   WHERE t.oid = type_oid;
$$;

-- A secondary index as Postgres prints it, the indexed table named as a client resolves it.
CREATE OR REPLACE FUNCTION electric.__index_ddl(index_oid oid) RETURNS text
LANGUAGE sql STABLE SET search_path = pg_catalog AS $$
  SELECT CASE
           WHEN strpos(d.def, d.qualified) > 0
           THEN overlay(d.def PLACING d.client FROM strpos(d.def, d.qualified) FOR length(d.qualified))
           ELSE d.def
         END || ';'
    FROM (SELECT electric.__client_indexdef(i.indexrelid) AS def,
                 format(' ON %I.%I USING ', n.nspname, c.relname) AS qualified,
                 format(' ON %s USING ', electric.__client_relation_name(c.oid)) AS client
            FROM pg_index i
            JOIN pg_class c ON c.oid = i.indrelid
            JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE i.indexrelid = index_oid) d;
$$;

-- CREATE TABLE (columns with NOT NULL, then the primary key, then foreign keys by name),
-- followed by the table's secondary indexes by name, each after a blank line, as one text.
CREATE OR REPLACE FUNCTION electric.__table_ddl(rel regclass) RETURNS text
LANGUAGE sql STABLE SET search_path = pg_catalog AS $$
  SELECT format(E'CREATE TABLE %s (\\n%s\\n);', electric.__client_relation_name(c.oid),
           array_to_string(
             ARRAY(
               SELECT format('    %I %s%s', a.attname,
                             electric.__client_type_name(a.atttypid, a.atttypmod),
                             CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END)
                 FROM pg_attribute a
                WHERE a.attrelid = rel AND a.attnum > 0 AND NOT a.attisdropped
                ORDER BY a.attnum
             ) || ARRAY(
               SELECT format('    CONSTRAINT %I %s', con.conname, electric.__client_constraintdef(con.oid))
                 FROM pg_constraint con
                WHERE con.conrelid = rel AND con.contype IN ('f', 'p')
                ORDER BY con.contype = 'f', con.conname
             ),
             E',\\n'))
         || coalesce((
              SELECT string_agg(E'\\n\\n' || electric.__index_ddl(i.indexrelid), '' ORDER BY ic.relname)
                FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
               WHERE i.indrelid = rel AND NOT i.indisprimary
                 AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
            ), '')
    FROM pg_class c
   WHERE c.oid = rel;
$$;

-- The enum types of a table's columns, each once, in the order of the first column using it.
CREATE OR REPLACE FUNCTION electric.__table_enum_types(rel regclass) RETURNS SETOF oid
LANGUAGE sql STABLE SET search_path = pg_catalog AS $$
  SELECT a.atttypid
    FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
   WHERE a.attrelid = rel AND a.attnum > 0 AND NOT a.attisdropped AND t.typtype = 'e'
   GROUP BY a.atttypid
   ORDER BY min(a.attnum);
$$;
`;
