/**
 * Shared SQL the per-table shadow machinery builds on (postgres-side.md §2.5, §8): the
 * effective replication role, tag helpers, the transaction-local settings
 * (`electric.current_transaction_max_tag`, `electric.touched_row_storage`) and catalog
 * readers that the generators turn into column lists.
 *
 * Tags are composites, so `IS NULL` / `IS NOT NULL` on a tag is true or false depending on its
 * fields (a Postgres tag has a NULL source and is therefore never `IS NOT NULL`). Everything
 * here tests `(tag).timestamp` instead: a tag is "set" iff its timestamp is.
 */

export const SHADOW_HELPERS_SQL = /* sql */ `
-- The direct-writes session cannot change the built-in setting without superuser rights, so it
-- announces itself through a custom parameter that takes precedence when non-empty.
CREATE OR REPLACE FUNCTION electric.__session_replication_role() RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
RETURN coalesce(nullif(pg_catalog.current_setting('electric.session_replication_role', true), ''),
                pg_catalog.current_setting('session_replication_role'));

-- The test in every electric row trigger's condition: true in a replica session (the client
-- merge triggers act), false for ordinary writers (the Postgres-write triggers act), and NULL
-- when the service writes a client batch it has merged itself ('merged', src/writes/
-- merged_sql.ts): a trigger condition that is NULL does not fire, so neither family acts.
-- PL/pgSQL on purpose: a SQL function would be inlined, that is, its stored body parsed again
-- each time a statement prepares the condition. Its fixed search path also keeps its cached
-- plan valid whichever search path the caller has.
CREATE OR REPLACE FUNCTION electric.__is_replica() RETURNS boolean
LANGUAGE plpgsql STABLE PARALLEL SAFE SET search_path = pg_catalog AS $$
DECLARE
  role text := coalesce(nullif(pg_catalog.current_setting('electric.session_replication_role', true), ''),
                        pg_catalog.current_setting('session_replication_role'));
BEGIN
  IF role OPERATOR(pg_catalog.=) 'merged' THEN
    RETURN NULL;
  END IF;
  RETURN role OPERATOR(pg_catalog.=) 'replica';
END;
$$;

-- Observed-remove (postgres-side.md §8.3) for the set-based merge: the row's tags minus those
-- the change observed (unset entries dropped), plus the change's tag unless it is a delete.
-- The same rule as the resolve_observed_tags trigger. No SET clause: every name is qualified,
-- and a SET would cost a configuration change per call.
CREATE OR REPLACE FUNCTION electric.__merge_observed_tags(
  tags electric.tag[], observed electric.tag[], tag electric.tag, is_delete boolean
) RETURNS electric.tag[] LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  kept electric.tag[] := '{}';
  candidate electric.tag;
BEGIN
  FOREACH candidate IN ARRAY coalesce(tags, '{}') LOOP
    IF (candidate).timestamp IS NOT NULL
       AND NOT coalesce(candidate OPERATOR(electric.=) ANY (observed), false) THEN
      kept := kept OPERATOR(pg_catalog.||) candidate;
    END IF;
  END LOOP;
  IF NOT is_delete AND NOT coalesce(tag OPERATOR(electric.=) ANY (kept), false) THEN
    kept := kept OPERATOR(pg_catalog.||) tag;
  END IF;
  RETURN kept;
END;
$$;

-- Client tags have millisecond precision; Postgres tags match so that conversions round-trip
-- and tag sets can be compared by equality.
CREATE OR REPLACE FUNCTION electric.__transaction_base_tag() RETURNS electric.tag
LANGUAGE sql STABLE
RETURN ROW(pg_catalog.date_trunc('milliseconds', pg_catalog.transaction_timestamp()), NULL)::electric.tag;

-- The greatest set tag of the array (unset entries ignored), NULL when there is none.
CREATE OR REPLACE FUNCTION electric.__greatest_tag(tags electric.tag[]) RETURNS electric.tag
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog AS $$
DECLARE
  best electric.tag;
  candidate electric.tag;
BEGIN
  FOREACH candidate IN ARRAY coalesce(tags, '{}') LOOP
    CONTINUE WHEN (candidate).timestamp IS NULL;
    IF (best).timestamp IS NULL OR electric.tag_compare(candidate, best) > 0 THEN
      best := candidate;
    END IF;
  END LOOP;
  RETURN best;
END;
$$;

-- The placeholder a custom parameter keeps after its transaction ends is '', hence nullif.
CREATE OR REPLACE FUNCTION electric.__stored_transaction_max_tag() RETURNS electric.tag
LANGUAGE sql STABLE
RETURN nullif(pg_catalog.current_setting('electric.current_transaction_max_tag', true), '')::electric.tag;

-- The tag Postgres-originated changes of this transaction receive at commit.
CREATE OR REPLACE FUNCTION electric.__current_transaction_max_tag() RETURNS electric.tag
LANGUAGE sql STABLE
RETURN coalesce(electric.__stored_transaction_max_tag(), electric.__transaction_base_tag());

-- Keeps the greatest candidate seen in the transaction, so that every row the transaction
-- wrote ends up above the tags it overwrote (not only the row written last).
CREATE OR REPLACE FUNCTION electric.__raise_transaction_max_tag(candidate electric.tag)
RETURNS electric.tag LANGUAGE plpgsql SET search_path = pg_catalog AS $$
DECLARE
  best electric.tag := electric.__greatest_tag(ARRAY[electric.__stored_transaction_max_tag(), candidate]);
BEGIN
  IF (best).timestamp IS NOT NULL THEN
    PERFORM set_config('electric.current_transaction_max_tag', best::text, true);
  END IF;
  RETURN best;
END;
$$;

-- What fk_chain_touch reports for a row that has no shadow row (it predates electrification).
CREATE OR REPLACE FUNCTION electric.__epoch_tags_text() RETURNS text
LANGUAGE sql IMMUTABLE
RETURN '{"(\\"1970-01-01 00:00:00+00\\",)"}';

-- Rows announced (or written) in this transaction, as a JSON object used as a set.
CREATE OR REPLACE FUNCTION electric.__tx_touched_key(schema_name text, table_name text, pk text[])
RETURNS text LANGUAGE sql IMMUTABLE
RETURN pg_catalog.jsonb_build_array(schema_name, table_name, pk)::text;

CREATE OR REPLACE FUNCTION electric.__tx_touched_rows() RETURNS jsonb
LANGUAGE sql STABLE
RETURN coalesce(nullif(pg_catalog.current_setting('electric.touched_row_storage', true), '')::jsonb,
                '{}'::jsonb);

CREATE OR REPLACE FUNCTION electric.__tx_is_row_already_touched(schema_name text, table_name text, pk text[])
RETURNS boolean LANGUAGE sql STABLE
RETURN electric.__tx_touched_rows() ? electric.__tx_touched_key(schema_name, table_name, pk);

-- One settings write per statement rather than per row: the set is re-serialised each time.
CREATE OR REPLACE FUNCTION electric.__tx_store_touched_keys(keys text[]) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN
  IF coalesce(cardinality(keys), 0) = 0 THEN
    RETURN;
  END IF;
  PERFORM set_config('electric.touched_row_storage',
    (electric.__tx_touched_rows() || (SELECT jsonb_object_agg(k, true) FROM unnest(keys) AS k))::text,
    true);
END;
$$;

CREATE OR REPLACE FUNCTION electric.__tx_store_touched_row(schema_name text, table_name text, pk text[])
RETURNS void LANGUAGE sql
BEGIN ATOMIC
  SELECT electric.__tx_store_touched_keys(ARRAY[electric.__tx_touched_key(schema_name, table_name, pk)]);
END;

-- Live columns of a table. pk_ord: position in the primary key; value_ord: position among the
-- non-key columns, which is also the index into _modified_columns_bit_mask.
CREATE OR REPLACE FUNCTION electric.__shadow_columns(rel regclass)
RETURNS TABLE (name text, type text, not_null boolean, is_pk boolean, pk_ord int, value_ord int, attnum int)
LANGUAGE sql STABLE SET search_path = pg_catalog AS $$
  WITH pk AS (
    SELECT k.attnum, k.ord
      FROM pg_constraint c, unnest(c.conkey) WITH ORDINALITY AS k(attnum, ord)
     WHERE c.conrelid = rel AND c.contype = 'p'
  )
  SELECT a.attname::text,
         format_type(a.atttypid, a.atttypmod),
         a.attnotnull,
         pk.ord IS NOT NULL,
         pk.ord::int,
         CASE WHEN pk.ord IS NULL
              THEN (row_number() OVER (PARTITION BY pk.ord IS NULL ORDER BY a.attnum))::int END,
         a.attnum::int
    FROM pg_attribute a LEFT JOIN pk ON pk.attnum = a.attnum
   WHERE a.attrelid = rel AND a.attnum > 0 AND NOT a.attisdropped
$$;

-- Renders one template per column and joins them. which: 'pk' (key order), 'value' or 'all'
-- (table order). Template arguments: %1$ name, %2$ position (pk_ord or value_ord), %3$ type,
-- %4$ name of its _tag_ column, %5$ name of its __reordered_ column, %6$ ' NOT NULL' or ''.
-- With which = 'all', key columns use pk_template when given.
CREATE OR REPLACE FUNCTION electric.__shadow_format_columns(
  rel regclass, which text, template text, separator text, pk_template text DEFAULT NULL
) RETURNS text LANGUAGE sql STABLE SET search_path = pg_catalog AS $$
  SELECT coalesce(string_agg(
           format(CASE WHEN c.is_pk AND pk_template IS NOT NULL THEN pk_template ELSE template END,
                  c.name,
                  CASE WHEN which = 'pk' THEN c.pk_ord ELSE c.value_ord END,
                  c.type,
                  '_tag_' || c.name,
                  '__reordered_' || c.name,
                  CASE WHEN c.not_null THEN ' NOT NULL' ELSE '' END),
           separator ORDER BY CASE WHEN which = 'pk' THEN c.pk_ord ELSE c.attnum END), '')
    FROM electric.__shadow_columns(rel) c
   WHERE which = 'all' OR (which = 'pk' AND c.is_pk) OR (which = 'value' AND NOT c.is_pk)
$$;

-- Foreign keys of rel to the primary key of another table. The referencing columns are listed
-- in the order of the referenced primary key, with that key's types, so they can be passed to
-- the referenced table's send_self_and_references function.
CREATE OR REPLACE FUNCTION electric.__shadow_fk_targets(rel regclass)
RETURNS TABLE (parent_schema text, parent_table text, child_columns text[], parent_types text[])
LANGUAGE sql STABLE SET search_path = pg_catalog AS $$
  SELECT pn.nspname::text, pc.relname::text,
         array_agg(ca.attname::text ORDER BY k.ord),
         array_agg(format_type(pa.atttypid, pa.atttypmod) ORDER BY k.ord)
    FROM pg_constraint f
    JOIN pg_class pc ON pc.oid = f.confrelid
    JOIN pg_namespace pn ON pn.oid = pc.relnamespace
    JOIN pg_constraint p ON p.conrelid = f.confrelid AND p.contype = 'p'
    CROSS JOIN LATERAL unnest(p.conkey) WITH ORDINALITY AS k(attnum, ord)
    CROSS JOIN LATERAL (SELECT i FROM generate_subscripts(f.confkey, 1) AS i
                         WHERE f.confkey[i] = k.attnum) m
    JOIN pg_attribute ca ON ca.attrelid = f.conrelid AND ca.attnum = f.conkey[m.i]
    JOIN pg_attribute pa ON pa.attrelid = f.confrelid AND pa.attnum = k.attnum
   WHERE f.conrelid = rel AND f.contype = 'f'
     AND cardinality(f.confkey) = cardinality(p.conkey)
   GROUP BY f.oid, f.conname, pn.nspname, pc.relname, p.conkey
  HAVING count(*) = cardinality(p.conkey)
   ORDER BY f.conname
$$;

-- Names of the per-table objects (§3.4): tables <kind>__<s>__<t>, functions <kind>___<s>__<t>.
CREATE OR REPLACE FUNCTION electric.__shadow_table_name(kind text, schema_name text, table_name text)
RETURNS text LANGUAGE sql IMMUTABLE
RETURN kind || '__' || schema_name || '__' || table_name;

CREATE OR REPLACE FUNCTION electric.__shadow_function_name(kind text, schema_name text, table_name text)
RETURNS text LANGUAGE sql IMMUTABLE
RETURN kind || '___' || schema_name || '__' || table_name;

-- The qualified names a generator needs, and how many non-key columns the table has.
CREATE OR REPLACE FUNCTION electric.__shadow_names(rel regclass)
RETURNS TABLE (schema_name text, table_name text, user_table text, shadow_table text,
               tombstone_table text, value_count int)
LANGUAGE sql STABLE SET search_path = pg_catalog AS $$
  SELECT n.nspname::text, c.relname::text, format('%I.%I', n.nspname, c.relname),
         format('electric.%I', electric.__shadow_table_name('shadow', n.nspname, c.relname)),
         format('electric.%I', electric.__shadow_table_name('tombstone', n.nspname, c.relname)),
         (SELECT count(*)::int FROM electric.__shadow_columns(rel) x WHERE NOT x.is_pk)
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE c.oid = rel
$$;
`;
