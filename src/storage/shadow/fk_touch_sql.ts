/**
 * Generators of the `electric.fk_chain_touch` emitters (postgres-side.md §9.4). After each
 * insert or update statement on an electrified table, the rows it wrote are recorded as
 * touched for the transaction, and every row they reference (recursively, through the
 * referenced table's own foreign keys) is announced once per transaction with a transactional
 * logical message, so the service can send parents a transaction did not modify without
 * querying Postgres.
 *
 * Calls to a referenced table's emitter are guarded at run time by the existence of its shadow
 * table, so a table electrified later is picked up without regenerating its children, and a
 * foreign key to a table that is not electrified is simply not followed.
 */

export const FK_TOUCH_GENERATORS_SQL = /* sql */ `
-- Calls into each referenced table's emitter; keys are read from the record named source.
CREATE OR REPLACE FUNCTION electric.__shadow_fk_calls(rel regclass, source text, bulk boolean)
RETURNS text LANGUAGE plpgsql STABLE SET search_path = pg_catalog AS $$
DECLARE
  fk record;
  calls text := '';
  keys text;
  not_null text;
  args text;
  emitter text;
BEGIN
  FOR fk IN SELECT * FROM electric.__shadow_fk_targets(rel) LOOP
    emitter := electric.__shadow_function_name('send_self_and_references', fk.parent_schema, fk.parent_table);
    SELECT string_agg(format('%s.%I', source, c), ' IS NOT NULL AND ' ORDER BY i) || ' IS NOT NULL',
           string_agg(format('_e_n.%I AS _e_k%s', c, i), ', ' ORDER BY i),
           string_agg(CASE WHEN bulk THEN format('_e_r._e_k%s::%s', i, fk.parent_types[i])
                           ELSE format('%s.%I::%s', source, c, fk.parent_types[i]) END, ', ' ORDER BY i)
      INTO not_null, keys, args
      FROM unnest(fk.child_columns) WITH ORDINALITY AS u(c, i);
    IF bulk THEN
      calls := calls || format($b$
  IF pg_catalog.to_regclass(%1$L) IS NOT NULL THEN
    FOR _e_r IN SELECT DISTINCT %2$s FROM _e_new_rows AS _e_n WHERE %3$s LOOP
      PERFORM electric.%4$I(%5$s);
    END LOOP;
  END IF;$b$,
        format('electric.%I', electric.__shadow_table_name('shadow', fk.parent_schema, fk.parent_table)),
        keys, not_null, emitter, args);
    ELSE
      calls := calls || format($b$
  IF %2$s AND pg_catalog.to_regclass(%1$L) IS NOT NULL THEN
    PERFORM electric.%3$I(%4$s);
  END IF;$b$,
        format('electric.%I', electric.__shadow_table_name('shadow', fk.parent_schema, fk.parent_table)),
        not_null, emitter, args);
    END IF;
  END LOOP;
  RETURN calls;
END;
$$;

-- Statement-level, after insert or update, with the new rows as transition table _e_new_rows.
-- Written rows are only recorded when some foreign key could reach them, which keeps bulk
-- writes to tables nobody references from growing the transaction-local set. Whether one can
-- is decided when the body is generated, from the catalog: electrifying a table regenerates
-- the bodies of the tables it references (electric.reinstall_shadow_functions). A table that
-- neither references nor is referenced gets an empty body.
CREATE OR REPLACE FUNCTION electric.__shadow_body__send_self_trigger(rel regclass)
RETURNS text LANGUAGE plpgsql STABLE SET search_path = pg_catalog AS $$
DECLARE
  nm record;
  record_keys text := '';
BEGIN
  SELECT * INTO nm FROM electric.__shadow_names(rel);
  IF EXISTS (SELECT 1 FROM pg_constraint WHERE confrelid = rel AND contype = 'f') THEN
    record_keys := format($r$
  PERFORM electric.__tx_store_touched_keys(ARRAY(
    SELECT electric.__tx_touched_key(%1$L, %2$L, ARRAY[%3$s]::text[]) FROM _e_new_rows AS _e_n));$r$,
      nm.schema_name,
      nm.table_name,
      electric.__shadow_format_columns(rel, 'pk', '_e_n.%1$I::text', ', '));
  END IF;
  RETURN format($b$
DECLARE
  _e_r record;
BEGIN%1$s%2$s
  RETURN NULL;
END;
$b$,
    record_keys,
    electric.__shadow_fk_calls(rel, '_e_n', true));
END;
$$;

-- True when send_self_trigger's body does nothing, so it needs no privileges of its own.
CREATE OR REPLACE FUNCTION electric.__shadow_send_self_is_empty(rel regclass) RETURNS boolean
LANGUAGE sql STABLE SET search_path = pg_catalog AS $$
  SELECT NOT EXISTS (SELECT 1 FROM pg_constraint
                      WHERE (confrelid = rel OR conrelid = rel) AND contype = 'f')
$$;

-- send_self_and_references___<s>__<t>(pk...): announce one row (if it exists and was neither
-- written nor announced in this transaction), then what it references.
CREATE OR REPLACE FUNCTION electric.__shadow_body__send_self_and_references(rel regclass)
RETURNS text LANGUAGE plpgsql STABLE SET search_path = pg_catalog AS $$
DECLARE
  nm record;
BEGIN
  SELECT * INTO nm FROM electric.__shadow_names(rel);
  RETURN format($b$
DECLARE
  _e_pk text[] := ARRAY[%1$s]::text[];
  _e_row record;
  _e_tags electric.tag[];
  _e_has_shadow boolean;
BEGIN
  IF electric.__tx_is_row_already_touched(%2$L, %3$L, _e_pk) THEN
    RETURN;
  END IF;
  SELECT * INTO _e_row FROM %4$s AS _e_u WHERE %5$s;
  IF NOT FOUND THEN
    RETURN;
  END IF;
  PERFORM electric.__tx_store_touched_row(%2$L, %3$L, _e_pk);
  SELECT _e_s._tags INTO _e_tags FROM %6$s AS _e_s WHERE %7$s;
  _e_has_shadow := FOUND;
  PERFORM pg_catalog.pg_logical_emit_message(true, 'electric.fk_chain_touch',
    pg_catalog.json_build_object(
      'schema', %2$L,
      'table', %3$L,
      'tags', CASE WHEN _e_has_shadow THEN coalesce(_e_tags, '{}')::text
                   ELSE electric.__epoch_tags_text() END,
      'data', pg_catalog.json_object(ARRAY[%8$s]::text[], ARRAY[%9$s]::text[]),
      'pk', _e_pk)::text);%10$s
END;
$b$,
    electric.__shadow_format_columns(rel, 'pk', '$%2$s::text', ', '),
    nm.schema_name,
    nm.table_name,
    nm.user_table,
    electric.__shadow_format_columns(rel, 'pk', '_e_u.%1$I = $%2$s', ' AND '),
    nm.shadow_table,
    electric.__shadow_format_columns(rel, 'pk', '_e_s.%1$I = $%2$s', ' AND '),
    electric.__shadow_format_columns(rel, 'all', '%1$L', ', '),
    electric.__shadow_format_columns(rel, 'all', '_e_row.%1$I::text', ', '),
    electric.__shadow_fk_calls(rel, '_e_row', false));
END;
$$;
`;
