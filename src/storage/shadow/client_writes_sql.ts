/**
 * Generators of the trigger functions that merge client changes (postgres-side.md §8.3). A
 * client change arrives as two inserts in a session whose effective role is `replica`: first
 * the user-table row, then the shadow row carrying the change's tag, observed tags and
 * modified-columns bitmask.
 *
 * 1. `reorder_main_op`: the user-table insert is parked in the shadow row's `__reordered_*`
 *    columns and discarded.
 * 2. `shadow_insert_to_upsert`: the shadow insert becomes an update of that shadow row, which
 * 3. `resolve_observed_tags` (before update on the shadow table) merges: observed-remove on
 *    `_tags`, per-column last-writer-wins on `_tag_<c>`, then
 * 4. `perform_reordered_op` applies the outcome to the user table: delete when no tag is left,
 *    otherwise update or insert the merged row (resurrecting it from the tombstone table).
 *
 * The user-table statements of step 4 run at trigger depth > 0 with role `replica`, so none of
 * the Postgres-writer triggers nor step 1 fire again; the tombstone and fk_chain_touch
 * triggers (ENABLE ALWAYS) do.
 */

export const CLIENT_WRITES_GENERATORS_SQL = /* sql */ `
CREATE OR REPLACE FUNCTION electric.__shadow_body__reorder_main_op(rel regclass)
RETURNS text LANGUAGE plpgsql STABLE SET search_path = pg_catalog AS $$
DECLARE
  nm record;
BEGIN
  SELECT * INTO nm FROM electric.__shadow_names(rel);
  RETURN format($b$
BEGIN
  INSERT INTO %1$s AS _e_s (%2$s%3$s, _currently_reordering)
  VALUES (%4$s%5$s, true)
  ON CONFLICT (%2$s) DO UPDATE SET %6$s_currently_reordering = true;
  RETURN NULL;
END;
$b$,
    nm.shadow_table,
    electric.__shadow_format_columns(rel, 'pk', '%1$I', ', '),
    electric.__shadow_format_columns(rel, 'value', ', %5$I', ''),
    electric.__shadow_format_columns(rel, 'pk', 'NEW.%1$I', ', '),
    electric.__shadow_format_columns(rel, 'value', ', NEW.%1$I', ''),
    electric.__shadow_format_columns(rel, 'value', '%5$I = excluded.%5$I, ', ''));
END;
$$;

-- The placeholder insert covers a shadow insert without a preceding user-table insert, so the
-- change is still resolved (through the update) rather than stored raw.
CREATE OR REPLACE FUNCTION electric.__shadow_body__shadow_insert_to_upsert(rel regclass)
RETURNS text LANGUAGE plpgsql STABLE SET search_path = pg_catalog AS $$
DECLARE
  nm record;
BEGIN
  SELECT * INTO nm FROM electric.__shadow_names(rel);
  RETURN format($b$
BEGIN
  IF (NEW._tag).timestamp IS NULL THEN
    RAISE EXCEPTION USING ERRCODE = 'not_null_violation', MESSAGE = %4$L;
  END IF;
  INSERT INTO %1$s AS _e_s (%2$s, _currently_reordering) VALUES (%3$s, true)
  ON CONFLICT (%2$s) DO NOTHING;
  UPDATE %1$s AS _e_s
     SET _currently_reordering = NULL,
         _last_modified = coalesce(NEW._last_modified, pg_catalog.txid_current()),
         _tag = NEW._tag,
         _is_a_delete_operation = coalesce(NEW._is_a_delete_operation, false),
         _observed_tags = coalesce(NEW._observed_tags, '{}'::electric.tag[]),
         _modified_columns_bit_mask = coalesce(NEW._modified_columns_bit_mask, '{}'::boolean[])
   WHERE %5$s;
  RETURN NULL;
END;
$b$,
    nm.shadow_table,
    electric.__shadow_format_columns(rel, 'pk', '%1$I', ', '),
    electric.__shadow_format_columns(rel, 'pk', 'NEW.%1$I', ', '),
    format('Client change to %s has no tag', nm.user_table),
    electric.__shadow_format_columns(rel, 'pk', '_e_s.%1$I = NEW.%1$I', ' AND '));
END;
$$;

-- tags := old tags minus observed, plus the change's tag unless it is a delete. A column takes
-- the change's tag when the change modified it and is not older than the column's tag; an
-- unset column tag (a column added after the row was written) counts as lowest.
CREATE OR REPLACE FUNCTION electric.__shadow_body__resolve_observed_tags(rel regclass)
RETURNS text LANGUAGE plpgsql STABLE SET search_path = pg_catalog AS $$
DECLARE
  nm record;
BEGIN
  SELECT * INTO nm FROM electric.__shadow_names(rel);
  RETURN format($b$
DECLARE
  _e_old_tags electric.tag[] := coalesce(OLD._tags, '{}');
  _e_observed electric.tag[] := coalesce(NEW._observed_tags, '{}');
  _e_mask boolean[] := coalesce(NEW._modified_columns_bit_mask, '{}');
  _e_delete boolean := coalesce(NEW._is_a_delete_operation, false);
  _e_tags electric.tag[];
BEGIN
  _e_tags := ARRAY(
    SELECT _e_old_tags[_e_i]
      FROM pg_catalog.generate_subscripts(_e_old_tags, 1) AS _e_i
     WHERE (_e_old_tags[_e_i]).timestamp IS NOT NULL
       AND NOT coalesce(_e_old_tags[_e_i] OPERATOR(electric.=) ANY (_e_observed), false)
     ORDER BY _e_i);
  IF NOT _e_delete AND NOT coalesce(NEW._tag OPERATOR(electric.=) ANY (_e_tags), false) THEN
    _e_tags := _e_tags || NEW._tag;
  END IF;
  NEW._tags := _e_tags;
%2$s
  PERFORM electric.%1$I(NEW);
  NEW._observed_tags := NULL;
  NEW._currently_reordering := NULL;%3$s
  RETURN NEW;
END;
$b$,
    electric.__shadow_function_name('perform_reordered_op', nm.schema_name, nm.table_name),
    electric.__shadow_format_columns(rel, 'value', $t$
  IF NOT _e_delete AND coalesce(_e_mask[%2$s], false)
     AND ((OLD.%4$I).timestamp IS NULL OR NOT (NEW._tag OPERATOR(electric.<) OLD.%4$I)) THEN
    NEW.%4$I := NEW._tag;
  ELSE
    NEW.%4$I := OLD.%4$I;
  END IF;$t$, ''),
    electric.__shadow_format_columns(rel, 'value', E'\\n  NEW.%5$I := NULL;', ''));
END;
$$;

-- A column takes the parked (client) value only where the change's tag won it; every other
-- column keeps the current row's value, or the tombstone's for a deleted row.
CREATE OR REPLACE FUNCTION electric.__shadow_body__perform_reordered_op(rel regclass)
RETURNS text LANGUAGE plpgsql STABLE SET search_path = pg_catalog AS $$
DECLARE
  nm record;
  client_wins text := 'coalesce(_e_row.%4$I OPERATOR(electric.=) _e_row._tag, false)'
                      ' AND coalesce(_e_mask[%2$s], false)';
BEGIN
  SELECT * INTO nm FROM electric.__shadow_names(rel);
  RETURN format($b$
DECLARE
  _e_mask boolean[] := coalesce(_e_row._modified_columns_bit_mask, '{}');
  _e_main record;
  _e_tomb record;
BEGIN
  IF coalesce(cardinality(_e_row._tags), 0) = 0 THEN
    DELETE FROM %1$s AS _e_u WHERE %2$s;
    RETURN;
  END IF;
  SELECT * INTO _e_main FROM %1$s AS _e_u WHERE %2$s FOR UPDATE;
  IF FOUND THEN
    %3$s
    RETURN;
  END IF;
  SELECT * INTO _e_tomb FROM %4$s AS _e_t WHERE %5$s;
  IF FOUND THEN
    INSERT INTO %1$s (%6$s) VALUES (%7$s);
  ELSE
    INSERT INTO %1$s (%6$s) VALUES (%8$s);
  END IF;
END;
$b$,
    nm.user_table,
    electric.__shadow_format_columns(rel, 'pk', '_e_u.%1$I = _e_row.%1$I', ' AND '),
    CASE WHEN nm.value_count = 0 THEN 'NULL;'
         ELSE format('UPDATE %s AS _e_u SET %s WHERE %s;', nm.user_table,
           electric.__shadow_format_columns(rel, 'value',
             '%1$I = CASE WHEN ' || client_wins || ' THEN _e_row.%5$I ELSE _e_main.%1$I END', ', '),
           electric.__shadow_format_columns(rel, 'pk', '_e_u.%1$I = _e_row.%1$I', ' AND '))
    END,
    nm.tombstone_table,
    electric.__shadow_format_columns(rel, 'pk', '_e_t.%1$I = _e_row.%1$I', ' AND '),
    electric.__shadow_format_columns(rel, 'all', '%1$I', ', '),
    electric.__shadow_format_columns(rel, 'all',
      'CASE WHEN ' || client_wins || ' THEN _e_row.%5$I ELSE _e_tomb.%1$I END', ', ', '_e_row.%1$I'),
    electric.__shadow_format_columns(rel, 'all', '_e_row.%5$I', ', ', '_e_row.%1$I'));
END;
$$;
`;
