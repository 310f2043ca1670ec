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
-- The first statement of steps 1 and 2: a change of a client transaction that an instance
-- applies again (its client LSN is not newer than the acknowledged one, so the subscription's
-- position-row trigger set electric.skip_client_transaction) is discarded, like the set-based
-- runs of that transaction (see the client write fence in bootstrap/steps.ts).
CREATE OR REPLACE FUNCTION electric.__skip_replayed_change()
RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT $s$IF pg_catalog.current_setting('electric.skip_client_transaction', true) = 'on' THEN
    RETURN NULL;
  END IF;$s$
$$;

CREATE OR REPLACE FUNCTION electric.__shadow_body__reorder_main_op(rel regclass)
RETURNS text LANGUAGE plpgsql STABLE SET search_path = pg_catalog AS $$
DECLARE
  nm record;
BEGIN
  SELECT * INTO nm FROM electric.__shadow_names(rel);
  RETURN format($b$
BEGIN
  %7$s
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
    electric.__shadow_format_columns(rel, 'value', '%5$I = excluded.%5$I, ', ''),
    electric.__skip_replayed_change());
END;
$$;

-- The placeholder insert covers a shadow insert without a preceding user-table insert, so the
-- change is still resolved (through the update) rather than stored raw. The user-table insert
-- normally parked the row already, so the update is tried first and usually suffices.
CREATE OR REPLACE FUNCTION electric.__shadow_body__shadow_insert_to_upsert(rel regclass)
RETURNS text LANGUAGE plpgsql STABLE SET search_path = pg_catalog AS $$
DECLARE
  nm record;
  update_statement text;
BEGIN
  SELECT * INTO nm FROM electric.__shadow_names(rel);
  update_statement := format($u$UPDATE %1$s AS _e_s
       SET _currently_reordering = NULL,
           _last_modified = coalesce(NEW._last_modified, pg_catalog.txid_current()),
           _tag = NEW._tag,
           _is_a_delete_operation = coalesce(NEW._is_a_delete_operation, false),
           _observed_tags = coalesce(NEW._observed_tags, '{}'::electric.tag[]),
           _modified_columns_bit_mask = coalesce(NEW._modified_columns_bit_mask, '{}'::boolean[])
     WHERE %2$s;$u$,
    nm.shadow_table,
    electric.__shadow_format_columns(rel, 'pk', '_e_s.%1$I = NEW.%1$I', ' AND '));
  RETURN format($b$
BEGIN
  %6$s
  IF (NEW._tag).timestamp IS NULL THEN
    RAISE EXCEPTION USING ERRCODE = 'not_null_violation', MESSAGE = %4$L;
  END IF;
  %5$s
  IF NOT FOUND THEN
    INSERT INTO %1$s AS _e_s (%2$s, _currently_reordering) VALUES (%3$s, true)
    ON CONFLICT (%2$s) DO NOTHING;
    %5$s
  END IF;
  RETURN NULL;
END;
$b$,
    nm.shadow_table,
    electric.__shadow_format_columns(rel, 'pk', '%1$I', ', '),
    electric.__shadow_format_columns(rel, 'pk', 'NEW.%1$I', ', '),
    format('Client change to %s has no tag', nm.user_table),
    update_statement,
    electric.__skip_replayed_change());
END;
$$;

-- Step 4 for the resolved shadow row held in the record named row_name, with its bitmask in
-- the local _e_mask: the statements shared by perform_reordered_op and resolve_observed_tags
-- (which runs them inline, sparing a call per change). A column takes the parked (client)
-- value only where the change's tag won it; every other column keeps the current row's
-- value, or the tombstone's for a deleted row; without a tombstone the parked values are
-- inserted as they are, so when the change won every column the tombstone is not read.
-- likely_new (an expression) says which to try first, inserting or updating the row; the
-- other is the fallback, so it only decides how many statements run.
-- (A primary key that is deferrable cannot arbitrate ON CONFLICT; such a table always updates
-- first.)
CREATE OR REPLACE FUNCTION electric.__shadow_perform_statements(
  rel regclass, row_name text, likely_new text
) RETURNS text LANGUAGE plpgsql STABLE SET search_path = pg_catalog AS $$
DECLARE
  nm record;
  client_wins text := format('coalesce(%1$s.%%4$I OPERATOR(electric.=) %1$s._tag, false)'
                             ' AND coalesce(_e_mask[%%2$s], false)', row_name);
  pk_match text;
  pk_list text;
  first_pk text;
  all_columns text;
  update_row text;
  insert_values text;
  insert_select text;
  on_conflict text;
BEGIN
  SELECT * INTO nm FROM electric.__shadow_names(rel);
  pk_match := electric.__shadow_format_columns(rel, 'pk', '_e_u.%1$I = ' || row_name || '.%1$I', ' AND ');
  pk_list := electric.__shadow_format_columns(rel, 'pk', '%1$I', ', ');
  SELECT format('%I', c.name) INTO first_pk
    FROM electric.__shadow_columns(rel) c WHERE c.pk_ord = 1;
  IF nm.value_count = 0 THEN
    RETURN format($b$IF coalesce(pg_catalog.cardinality(%1$s._tags), 0) = 0 THEN
    DELETE FROM %2$s AS _e_u WHERE %3$s;
  ELSE
    PERFORM FROM %2$s AS _e_u WHERE %3$s FOR UPDATE;
    IF NOT FOUND THEN
      INSERT INTO %2$s (%4$s) VALUES (%5$s);
    END IF;
  END IF;$b$,
      row_name, nm.user_table, pk_match, pk_list,
      electric.__shadow_format_columns(rel, 'pk', row_name || '.%1$I', ', '));
  END IF;
  IF EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = rel AND contype = 'p' AND condeferrable) THEN
    likely_new := 'false';
  END IF;
  all_columns := electric.__shadow_format_columns(rel, 'all', '%1$I', ', ');
  -- The update locks the row it finds.
  update_row := format('UPDATE %1$s AS _e_u SET %2$s WHERE %3$s;',
    nm.user_table,
    electric.__shadow_format_columns(rel, 'value',
      '%1$I = CASE WHEN ' || client_wins || ' THEN ' || row_name || '.%5$I ELSE _e_u.%1$I END', ', '),
    pk_match);
  insert_values := format('INSERT INTO %s (%s) VALUES (%s)',
    nm.user_table,
    all_columns,
    electric.__shadow_format_columns(rel, 'all', row_name || '.%5$I', ', ', row_name || '.%1$I'));
  -- first_pk goes into a template, where a % of its name must not count.
  insert_select := format('INSERT INTO %s (%s) SELECT %s FROM (SELECT) AS _e_one LEFT JOIN %s AS _e_t ON %s',
    nm.user_table,
    all_columns,
    electric.__shadow_format_columns(rel, 'all',
      'CASE WHEN _e_t.' || replace(first_pk, '%', '%%') || ' IS NULL OR ' || client_wins || ' THEN ' || row_name
        || '.%5$I ELSE _e_t.%1$I END', ', ', row_name || '.%1$I'),
    nm.tombstone_table,
    electric.__shadow_format_columns(rel, 'pk', '_e_t.%1$I = ' || row_name || '.%1$I', ' AND '));
  on_conflict := format(' ON CONFLICT (%s) DO NOTHING', pk_list);
  RETURN format($b$IF coalesce(pg_catalog.cardinality(%1$s._tags), 0) = 0 THEN
    DELETE FROM %2$s AS _e_u WHERE %3$s;
  ELSE
    _e_all_won := %4$s;
    IF %5$s THEN
    %6$s
      IF NOT FOUND THEN
        %7$s
      END IF;
    ELSE
      %7$s
      IF NOT FOUND THEN
    %8$s
      END IF;
    END IF;
  END IF;$b$,
    row_name, nm.user_table, pk_match,
    electric.__shadow_format_columns(rel, 'value', '(' || client_wins || ')', ' AND '),
    likely_new,
    format($i$IF _e_all_won THEN
        %s;
      ELSE
        %s;
      END IF;$i$, insert_values || on_conflict, insert_select || on_conflict),
    update_row,
    format($i$IF _e_all_won THEN
        %s;
      ELSE
        %s;
      END IF;$i$, insert_values, insert_select));
END;
$$;

-- tags := old tags minus observed, plus the change's tag unless it is a delete. A column takes
-- the change's tag when the change modified it and is not older than the column's tag; an
-- unset column tag (a column added after the row was written) counts as lowest. The tag set
-- is filtered with a loop rather than a query, and not at all when there is nothing to remove.
CREATE OR REPLACE FUNCTION electric.__shadow_body__resolve_observed_tags(rel regclass)
RETURNS text LANGUAGE plpgsql STABLE SET search_path = pg_catalog AS $$
BEGIN
  RETURN format($b$
DECLARE
  _e_observed electric.tag[] := NEW._observed_tags;
  _e_mask boolean[] := coalesce(NEW._modified_columns_bit_mask, '{}');
  _e_delete boolean := coalesce(NEW._is_a_delete_operation, false);
  _e_tags electric.tag[] := '{}';
  _e_t electric.tag;
  _e_all_won boolean;
BEGIN
  IF pg_catalog.cardinality(OLD._tags) > 0 THEN
    IF coalesce(pg_catalog.cardinality(_e_observed), 0) = 0 THEN
      FOREACH _e_t IN ARRAY OLD._tags LOOP
        IF (_e_t).timestamp IS NOT NULL THEN
          _e_tags := _e_tags || _e_t;
        END IF;
      END LOOP;
    ELSE
      FOREACH _e_t IN ARRAY OLD._tags LOOP
        IF (_e_t).timestamp IS NOT NULL
           AND NOT coalesce(_e_t OPERATOR(electric.=) ANY (_e_observed), false) THEN
          _e_tags := _e_tags || _e_t;
        END IF;
      END LOOP;
    END IF;
  END IF;
  IF NOT _e_delete AND NOT coalesce(NEW._tag OPERATOR(electric.=) ANY (_e_tags), false) THEN
    _e_tags := _e_tags || NEW._tag;
  END IF;
  NEW._tags := _e_tags;%1$s
  %2$s
  NEW._observed_tags := NULL;
  NEW._currently_reordering := NULL;%3$s
  RETURN NEW;
END;
$b$,
    electric.__shadow_format_columns(rel, 'value', $t$
  NEW.%4$I := CASE WHEN NOT _e_delete AND coalesce(_e_mask[%2$s], false)
                        AND ((OLD.%4$I).timestamp IS NULL OR NOT (NEW._tag OPERATOR(electric.<) OLD.%4$I))
                   THEN NEW._tag ELSE OLD.%4$I END;$t$, ''),
    electric.__shadow_perform_statements(rel, 'NEW', 'coalesce(pg_catalog.cardinality(OLD._tags), 0) = 0'),
    electric.__shadow_format_columns(rel, 'value', E'\\n  NEW.%5$I := NULL;', ''));
END;
$$;

-- perform_reordered_op___<s>__<t>(shadow row): step 4 on its own, for direct calls.
CREATE OR REPLACE FUNCTION electric.__shadow_body__perform_reordered_op(rel regclass)
RETURNS text LANGUAGE plpgsql STABLE SET search_path = pg_catalog AS $$
BEGIN
  RETURN format($b$
DECLARE
  _e_mask boolean[] := coalesce(_e_row._modified_columns_bit_mask, '{}');
  _e_all_won boolean;
BEGIN
  %1$s
END;
$b$,
    electric.__shadow_perform_statements(rel, '_e_row', 'false'));
END;
$$;
`;
