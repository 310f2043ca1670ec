/**
 * Generators of the trigger functions that tag writes made directly in Postgres
 * (postgres-side.md §8.2). Each `electric.__shadow_body__<kind>(rel)` returns the PL/pgSQL body
 * of `electric.<kind>___<s>__<t>` for one table, built from the catalog.
 *
 * The flow: a row trigger stamps the shadow row with the transaction's base tag T and marks
 * the modified columns; T is raised above every tag already on the row (so a client write
 * with a future timestamp still loses) and remembered for the transaction; a deferred
 * constraint trigger then writes that final tag into `_tags` and the modified column tags at
 * commit. Generated bodies qualify every column with a table alias and prefix their locals
 * with `_e_`, so no user column name can be mistaken for a variable.
 */

export const POSTGRES_WRITES_GENERATORS_SQL = /* sql */ `
-- After delete, always: keep the last values of a deleted row for later resurrection.
CREATE OR REPLACE FUNCTION electric.__shadow_body__generate_tombstone_entry(rel regclass)
RETURNS text LANGUAGE plpgsql STABLE SET search_path = pg_catalog AS $$
DECLARE
  nm record;
BEGIN
  SELECT * INTO nm FROM electric.__shadow_names(rel);
  RETURN format($b$
BEGIN
  INSERT INTO %1$s AS _e_t (%2$s) VALUES (%3$s)
    ON CONFLICT (%4$s) %5$s;
  RETURN NULL;
END;
$b$,
    nm.tombstone_table,
    electric.__shadow_format_columns(rel, 'all', '%1$I', ', '),
    electric.__shadow_format_columns(rel, 'all', 'OLD.%1$I', ', '),
    electric.__shadow_format_columns(rel, 'pk', '%1$I', ', '),
    CASE WHEN nm.value_count = 0 THEN 'DO NOTHING'
         ELSE 'DO UPDATE SET ' || electric.__shadow_format_columns(rel, 'value', '%1$I = excluded.%1$I', ', ')
    END);
END;
$$;

-- Before insert or update by a Postgres writer.
CREATE OR REPLACE FUNCTION electric.__shadow_body__create_shadow_row_from_upsert(rel regclass)
RETURNS text LANGUAGE plpgsql STABLE SET search_path = pg_catalog AS $$
DECLARE
  nm record;
BEGIN
  SELECT * INTO nm FROM electric.__shadow_names(rel);
  RETURN format($b$
DECLARE
  _e_tag electric.tag := electric.__transaction_base_tag();
  _e_prev record;
  _e_changed boolean[];
  _e_pending boolean;
BEGIN
  SELECT * INTO _e_prev FROM %1$s AS _e_s WHERE %2$s FOR UPDATE;
  IF NOT FOUND THEN
    INSERT INTO %1$s (%3$s, _last_modified, _tag, _tags, _is_a_delete_operation, _resolved%4$s)
    VALUES (%5$s, pg_catalog.txid_current(), _e_tag, ARRAY[_e_tag], false, false%6$s);
  ELSE
    -- Flags accumulate only over this transaction's unresolved writes; a mask left by an
    -- earlier transaction (or a client change) says nothing about this one.
    _e_pending := _e_prev._resolved IS FALSE AND _e_prev._last_modified = pg_catalog.txid_current();
    IF TG_OP = 'UPDATE' THEN
      _e_changed := ARRAY[%7$s]::boolean[];
    ELSE
      _e_changed := pg_catalog.array_fill(true, ARRAY[%8$s]);
    END IF;
    UPDATE %1$s AS _e_s
       SET _last_modified = pg_catalog.txid_current(),
           _tag = _e_tag,
           _is_a_delete_operation = false,
           _resolved = false,
           _modified_columns_bit_mask = ARRAY[%9$s]::boolean[]
     WHERE %2$s;
    -- Never below a tag the row already carries; the NULL source makes Postgres win ties.
    _e_tag := ROW((electric.__greatest_tag(ARRAY[_e_tag, _e_prev._tag%10$s])).timestamp, NULL)::electric.tag;
  END IF;
  PERFORM electric.__raise_transaction_max_tag(_e_tag);
  RETURN NEW;
END;
$b$,
    nm.shadow_table,
    electric.__shadow_format_columns(rel, 'pk', '_e_s.%1$I = NEW.%1$I', ' AND '),
    electric.__shadow_format_columns(rel, 'pk', '%1$I', ', '),
    electric.__shadow_format_columns(rel, 'value', ', %4$I', ''),
    electric.__shadow_format_columns(rel, 'pk', 'NEW.%1$I', ', '),
    electric.__shadow_format_columns(rel, 'value', ', _e_tag', ''),
    electric.__shadow_format_columns(rel, 'value', 'NEW.%1$I IS DISTINCT FROM OLD.%1$I', ', '),
    nm.value_count,
    electric.__shadow_format_columns(rel, 'value',
      '(_e_pending AND coalesce(_e_s._modified_columns_bit_mask[%2$s], false)) OR coalesce(_e_changed[%2$s], false)', ', '),
    electric.__shadow_format_columns(rel, 'value', ', _e_prev.%4$I', ''));
END;
$$;

-- Before delete by a Postgres writer. A row without a shadow row predates electrification and
-- has nothing to resolve. Unlike inserts and updates, the whole greatest tag is stored, so its
-- source may be a client id (the reference's behaviour, postgres-side.md §8.2).
CREATE OR REPLACE FUNCTION electric.__shadow_body__update_shadow_row_from_delete(rel regclass)
RETURNS text LANGUAGE plpgsql STABLE SET search_path = pg_catalog AS $$
DECLARE
  nm record;
BEGIN
  SELECT * INTO nm FROM electric.__shadow_names(rel);
  RETURN format($b$
DECLARE
  _e_tag electric.tag := electric.__transaction_base_tag();
  _e_prev record;
BEGIN
  SELECT * INTO _e_prev FROM %1$s AS _e_s WHERE %2$s FOR UPDATE;
  IF FOUND THEN
    UPDATE %1$s AS _e_s
       SET _last_modified = pg_catalog.txid_current(),
           _tag = _e_tag,
           _is_a_delete_operation = true,
           _resolved = false
     WHERE %2$s;
    PERFORM electric.__raise_transaction_max_tag(
      electric.__greatest_tag(ARRAY[_e_tag, _e_prev._tag%3$s]));
  END IF;
  RETURN OLD;
END;
$b$,
    nm.shadow_table,
    electric.__shadow_format_columns(rel, 'pk', '_e_s.%1$I = OLD.%1$I', ' AND '),
    electric.__shadow_format_columns(rel, 'value', ', _e_prev.%4$I', ''));
END;
$$;

-- Deferred to commit: give the transaction's final tag to the row and to its modified columns.
-- NEW may be an older version of the row (one event per update); the statement reads the
-- current one, and a row already resolved by an earlier event is left alone.
CREATE OR REPLACE FUNCTION electric.__shadow_body__write_correct_max_tag(rel regclass)
RETURNS text LANGUAGE plpgsql STABLE SET search_path = pg_catalog AS $$
DECLARE
  nm record;
BEGIN
  SELECT * INTO nm FROM electric.__shadow_names(rel);
  RETURN format($b$
DECLARE
  _e_max electric.tag := electric.__current_transaction_max_tag();
BEGIN
  UPDATE %1$s AS _e_s
     SET _tag = _e_max,
         _tags = CASE WHEN _e_s._is_a_delete_operation THEN '{}'::electric.tag[] ELSE ARRAY[_e_max] END,
         _resolved = true,
         _modified_columns_bit_mask = pg_catalog.array_fill(false, ARRAY[%3$s])%4$s
   WHERE %2$s AND _e_s._resolved IS NOT TRUE;
  RETURN NULL;
END;
$b$,
    nm.shadow_table,
    electric.__shadow_format_columns(rel, 'pk', '_e_s.%1$I = NEW.%1$I', ' AND '),
    nm.value_count,
    electric.__shadow_format_columns(rel, 'value',
      E',\\n         %4$I = CASE WHEN NOT coalesce(_e_s._is_a_delete_operation, false)'
      ' AND coalesce(_e_s._modified_columns_bit_mask[%2$s], false) THEN _e_max ELSE _e_s.%4$I END', ''));
END;
$$;
`;
