/**
 * The set-based form of the client-change merge (postgres-side.md §8.3, §8.4): a run of
 * changes to distinct rows of one table becomes two statements instead of two inserts per
 * change that row triggers merge one by one. The direct writer runs them; in
 * `logical_replication` mode they reach the subscriber in `electric.client_merge_statements`.
 * The rules are those of the triggers (src/storage/shadow/client_writes_sql.ts);
 * tests/integration/shadow_merged_writes_test.ts applies random histories both ways and
 * compares every row.
 *
 * 1. The shadow upsert: a new row gets the change's tag (unless it is a delete) and its
 *    modified columns' tags; an existing one is merged in ON CONFLICT, so that a concurrent
 *    writer's row is merged as committed: observed-remove on `_tags`
 *    (`electric.__merge_observed_tags`), per-column last-writer-wins on `_tag_<c>`.
 * 2. The user-table write, a separate statement so that its snapshot includes whatever
 *    statement 1 waited for: rows left without tags are deleted, the others updated where the
 *    change won a column, or inserted (from the tombstone for columns it did not win).
 *
 * Both run with `electric.session_replication_role = 'merged'`, under which no electric row
 * trigger acts (see `electric.__is_replica`); the tombstone and foreign-key touch triggers run
 * as for any write. Pure: SQL text only.
 */
import type { TableModel } from "../schema/mod.ts";
import { shadowTableName, tombstoneTableName } from "../storage/mod.ts";
import type { ClientChange } from "./client_transaction.ts";
import { keyColumns, maskText, modifiedMask, valueColumns } from "./columns.ts";
import { castType, quote, quoteIdent, typedLiteral } from "./literal.ts";
import { inline, type Parameterized, parameterized, type ValueSlot } from "./parameters.ts";
import { type ParsedTag, tagArrayText, tagText } from "./tags.ts";

export interface MergeMember {
  change: ClientChange;
  observed: ParsedTag[];
}

/**
 * Whether a change can take the set-based path: it carries every column of the table (a
 * column it omits would need its default, which only a direct insert can give), and the
 * table has columns besides its key.
 */
export function canMergeSetBased(change: ClientChange): boolean {
  const { table } = change;
  return change.kind !== "compensation" &&
    table.columns.length > table.primaryKey.length &&
    table.columns.every((column) => change.present.has(column.name));
}

/**
 * The two statements for changes to distinct rows of one table, all `canMergeSetBased`. Values
 * go where `slot` puts them: inline as literals (the default), or out as parameters, which
 * leaves a text that depends only on the shape of the run (see parameters.ts).
 */
export function mergedGroupSql(
  members: MergeMember[],
  tag: ParsedTag,
  slot: ValueSlot = inline,
): [string, string] {
  const { table } = members[0].change;
  return [shadowUpsert(table, members, tag, slot), userWrite(table, members, slot)];
}

/** `mergedGroupSql` with every value a parameter, each statement numbering its own. */
export function mergedGroupParameterized(
  members: MergeMember[],
  tag: ParsedTag,
): [Parameterized, Parameterized] {
  const { table } = members[0].change;
  return [
    parameterized((slot) => shadowUpsert(table, members, tag, slot)),
    parameterized((slot) => userWrite(table, members, slot)),
  ];
}

/**
 * Statement 1. The transaction's tag is written once and joined in: parsing a tag literal
 * costs more than the rest of a row, and every row would need it four times.
 */
function shadowUpsert(
  table: TableModel,
  members: MergeMember[],
  tag: ParsedTag,
  slot: ValueSlot,
): string {
  const values = valueColumns(table);
  const keys = keyColumns(table);
  const rows = members.map(({ change, observed }) => {
    const isDelete = change.kind === "delete";
    const mask = modifiedMask(change);
    return `(${
      [
        ...keys.map((c) =>
          slot(typedLiteral(c.type, change.record[c.name] ?? null), castType(c.type))
        ),
        slot(isDelete ? "true" : "false", "boolean"),
        // Only read when the row exists (ON CONFLICT below, which clears it); a new row keeps
        // what it was given, which is nothing in the usual case of a client insert.
        slot(
          observed.length === 0
            ? "NULL::electric.tag[]"
            : `${quote(tagArrayText(observed))}::electric.tag[]`,
          "electric.tag[]",
        ),
        slot(`'${maskText(mask)}'::boolean[]`, "boolean[]"),
      ].join(", ")
    })`;
  });
  const keyNames = keys.map((c) => quoteIdent(c.name));
  const columns = [
    ...keyNames,
    "_tag",
    "_is_a_delete_operation",
    "_observed_tags",
    "_modified_columns_bit_mask",
    "_tags",
    "_last_modified",
    ...values.map((c) => quoteIdent(`_tag_${c.name}`)),
  ];
  const selected = [
    ...keyNames.map((name) => `_e_v.${name}`),
    "_e_k._e_tag",
    "_e_v._e_delete",
    "_e_v._e_observed",
    "_e_v._e_mask",
    "CASE WHEN _e_v._e_delete THEN '{}'::electric.tag[] ELSE ARRAY[_e_k._e_tag] END",
    "pg_catalog.txid_current()",
    ...values.map((_, i) => `CASE WHEN _e_v._e_mask[${i + 1}] THEN _e_k._e_tag END`),
  ];
  // A column tag moves to the change's tag when the change modified it and is not older; an
  // unset column tag (a column added after the row was written) counts as lowest.
  const columnTags = values.map((c, i) => {
    const column = quoteIdent(`_tag_${c.name}`);
    return `${column} = CASE WHEN NOT excluded._is_a_delete_operation` +
      ` AND coalesce(excluded._modified_columns_bit_mask[${i + 1}], false)` +
      ` AND ((_e_s.${column}).timestamp IS NULL OR NOT (excluded._tag OPERATOR(electric.<) _e_s.${column}))` +
      ` THEN excluded._tag ELSE _e_s.${column} END`;
  });
  return `INSERT INTO electric.${quoteIdent(shadowTableName(table.schema, table.name))} AS _e_s (${
    columns.join(", ")
  }) SELECT ${selected.join(", ")} FROM (VALUES ${rows.join(", ")}) AS _e_v (${
    [...keyNames, "_e_delete", "_e_observed", "_e_mask"].join(", ")
  }) CROSS JOIN (SELECT ${
    slot(`${quote(tagText(tag))}::electric.tag`, "electric.tag")
  } AS _e_tag) AS _e_k ` +
    `ON CONFLICT (${keyNames.join(", ")}) ` +
    `DO UPDATE SET _tags = electric.__merge_observed_tags(_e_s._tags, excluded._observed_tags, ` +
    `excluded._tag, excluded._is_a_delete_operation), _tag = excluded._tag, ` +
    `_is_a_delete_operation = excluded._is_a_delete_operation, _observed_tags = NULL, ` +
    `_modified_columns_bit_mask = excluded._modified_columns_bit_mask, ` +
    `_last_modified = excluded._last_modified, _currently_reordering = NULL, ` +
    columnTags.join(", ");
}

/**
 * Statement 2. Shadow and tombstone rows are looked up per change (LATERAL … OFFSET 0, so the
 * planner keeps the key lookups rather than hashing whole tables), and the user rows by their
 * key (`= ANY` on the first key column), so the cost follows the number of changes whatever
 * the size of the tables and their statistics.
 */
function userWrite(table: TableModel, members: MergeMember[], slot: ValueSlot): string {
  const values = valueColumns(table);
  const keys = keyColumns(table);
  const all = table.columns;
  const userTable = `${quoteIdent(table.schema)}.${quoteIdent(table.name)}`;
  const rows = members.map(({ change }) =>
    `(${
      all.map((c) => slot(typedLiteral(c.type, change.record[c.name] ?? null), castType(c.type)))
        .join(", ")
    })`
  );
  const keyMatch = (left: string, right: string) =>
    keys.map((c) => `${left}.${quoteIdent(c.name)} = ${right}.${quoteIdent(c.name)}`).join(" AND ");
  const firstKey = quoteIdent(keys[0].name);
  const won = (i: number) => `_e_won_${i + 1}`;
  const wonFlags = values.map((c, i) =>
    `coalesce(_e_s.${quoteIdent(`_tag_${c.name}`)} OPERATOR(electric.=) _e_s._tag, false)` +
    ` AND coalesce(_e_s._modified_columns_bit_mask[${i + 1}], false) AS ${won(i)}`
  );
  const keysOf = (condition: string) =>
    `ARRAY(SELECT _e_m.${firstKey} FROM _e_m WHERE ${condition})`;
  const updates = values.map((c, i) =>
    `${quoteIdent(c.name)} = CASE WHEN _e_m.${won(i)} THEN _e_m.${quoteIdent(c.name)} ELSE _e_u.${
      quoteIdent(c.name)
    } END`
  );
  const inserted = all.map((c) => {
    const i = values.indexOf(c);
    if (i < 0) return `_e_m.${quoteIdent(c.name)}`;
    return `CASE WHEN _e_t.${firstKey} IS NULL OR _e_m.${won(i)} THEN _e_m.${quoteIdent(c.name)}` +
      ` ELSE _e_t.${quoteIdent(c.name)} END`;
  });
  return [
    `WITH _e_v (${all.map((c) => quoteIdent(c.name)).join(", ")}) AS (VALUES ${rows.join(", ")}),`,
    `_e_m AS MATERIALIZED (SELECT _e_v.*, _e_s.* FROM _e_v CROSS JOIN LATERAL (` +
    `SELECT coalesce(pg_catalog.cardinality(_e_s._tags), 0) = 0 AS _e_gone, ${
      wonFlags.join(", ")
    } FROM electric.${quoteIdent(shadowTableName(table.schema, table.name))} AS _e_s WHERE ${
      keyMatch("_e_s", "_e_v")
    } OFFSET 0) AS _e_s),`,
    // Only a delete can leave a row without tags.
    members.some((m) => m.change.kind === "delete")
      ? `_e_d AS (DELETE FROM ${userTable} AS _e_u USING _e_m WHERE _e_m._e_gone AND ${
        keyMatch("_e_u", "_e_m")
      } AND _e_u.${firstKey} = ANY (${keysOf("_e_m._e_gone")})),`
      : "",
    `_e_up AS (UPDATE ${userTable} AS _e_u SET ${
      updates.join(", ")
    } FROM _e_m WHERE NOT _e_m._e_gone AND ${
      keyMatch("_e_u", "_e_m")
    } AND _e_u.${firstKey} = ANY (${keysOf("NOT _e_m._e_gone")}) RETURNING ${
      keys.map((c) => `_e_u.${quoteIdent(c.name)}`).join(", ")
    })`,
    `INSERT INTO ${userTable} (${all.map((c) => quoteIdent(c.name)).join(", ")}) SELECT ${
      inserted.join(", ")
    } FROM _e_m LEFT JOIN LATERAL (SELECT * FROM electric.${
      quoteIdent(tombstoneTableName(table.schema, table.name))
    } AS _e_t WHERE ${keyMatch("_e_t", "_e_m")} OFFSET 0) AS _e_t ON true ` +
    `WHERE NOT _e_m._e_gone AND NOT EXISTS (SELECT FROM _e_up WHERE ${keyMatch("_e_up", "_e_m")})`,
  ].filter((part) => part !== "").join("\n");
}
