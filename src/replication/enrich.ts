/**
 * Enrichment of a committed transaction from its shadow-table changes (§7.3 of
 * postgres-side.md), then removal of the service's own changes (§4.5). Pure.
 *
 * 1. Tombstone changes are dropped.
 * 2. Shadow changes are set aside; per (table, primary key) the last non-delete one wins.
 * 3. The `_tag` of the last shadow change gives the commit timestamp and the origin
 *    (NULL source → the connector's origin).
 * 4. Each user change gets the winning shadow row's `_tags` in client form; deletes get none.
 * 5. `electric.*` changes other than `ddl_commands` inserts and permission-rule row changes
 *    (`electric.grants`, `electric.assignments`: every insert, update and delete, whole rows)
 *    are removed; an empty transaction is still a transaction (its position matters
 *    downstream).
 */
import { ELECTRIC_SCHEMA, PERMISSION_RULE_TABLES, shadowTableName } from "../storage/mod.ts";
import { clientTag, parseTag, parseTagArray } from "./tags.ts";
import {
  type Change,
  estimateByteSize,
  type RelationRef,
  type Row,
  type RowChange,
  type Transaction,
} from "./transaction.ts";

/** Primary key column names of a user table, in key order, when known. */
export type PrimaryKeyLookup = (schema: string, table: string) => readonly string[] | undefined;

export interface EnrichOptions {
  origin: string;
  primaryKey?: PrimaryKeyLookup;
  onWarning?: (message: string) => void;
}

const SHADOW_PREFIX = "shadow__";
const TOMBSTONE_PREFIX = "tombstone__";
const SHADOW_METADATA = new Set([
  "_tags",
  "_last_modified",
  "_is_a_delete_operation",
  "_tag",
  "_observed_tags",
  "_modified_columns_bit_mask",
  "_resolved",
  "_currently_reordering",
]);

export function enrichTransaction(tx: Transaction, options: EnrichOptions): Transaction {
  const shadow: RowChange[] = [];
  const user: Change[] = [];
  for (const change of tx.changes) {
    if (change.kind !== "truncate" && change.relation.schema === ELECTRIC_SCHEMA) {
      if (change.relation.table.startsWith(TOMBSTONE_PREFIX)) continue;
      if (change.relation.table.startsWith(SHADOW_PREFIX)) {
        shadow.push(change);
        continue;
      }
    }
    user.push(change);
  }

  let { commitTimestamp, origin } = tx;
  const last = shadow.at(-1);
  const lastTag = last && (last.record ?? last.oldRecord)?._tag;
  const tag = typeof lastTag === "string" ? parseTag(lastTag) : undefined;
  if (tag) {
    commitTimestamp = new Date(tag.timestampMs);
    origin = tag.source ?? options.origin;
  }

  // Winning shadow row per (shadow table, pk values).
  const finalShadow = new Map<string, Row>();
  for (const change of shadow) {
    if (change.kind === "delete" || !change.record) continue;
    const pk = shadowPrimaryKey(change.relation);
    finalShadow.set(rowKey(change.relation.table, pk, change.record), change.record);
  }

  // Rows written together carry the same tags text: convert each distinct text once.
  const converted = new Map<string, string[]>();
  const tagsOf = (text: string): string[] => {
    let tags = converted.get(text);
    if (!tags) {
      tags = parseTagArray(text).map((t) => clientTag(t, options.origin));
      converted.set(text, tags);
    }
    return tags;
  };
  const changes: Change[] = [];
  for (const change of user) {
    if (change.kind === "truncate") {
      const relations = change.relations.filter((r) => r.schema !== ELECTRIC_SCHEMA);
      if (relations.length === 0) continue;
      options.onWarning?.(
        `TRUNCATE of ${relations.map((r) => `"${r.schema}.${r.table}"`).join(", ")} ` +
          "is passed on as is: clients cannot follow it",
      );
      changes.push({ kind: "truncate", relations });
      continue;
    }
    if (change.relation.schema === ELECTRIC_SCHEMA) {
      const { table } = change.relation;
      if (
        (table === "ddl_commands" && change.kind === "insert") ||
        PERMISSION_RULE_TABLES.includes(table)
      ) changes.push(change);
      continue;
    }
    if (change.kind === "delete" || shadow.length === 0) {
      changes.push({ ...change, tags: [] });
      continue;
    }
    const shadowTable = shadowTableName(change.relation.schema, change.relation.table);
    const pk = options.primaryKey?.(change.relation.schema, change.relation.table) ??
      userPrimaryKey(change.relation, shadow, shadowTable);
    const shadowRow = pk && change.record
      ? finalShadow.get(rowKey(shadowTable, pk, change.record))
      : undefined;
    const tags = typeof shadowRow?._tags === "string" ? tagsOf(shadowRow._tags) : [];
    changes.push({ ...change, tags });
  }

  const enriched = { ...tx, commitTimestamp, origin, changes };
  return { ...enriched, byteSize: estimateByteSize(enriched) };
}

const shadowKeys = new WeakMap<RelationRef, string[]>();

/**
 * The shadow table's primary key: its columns other than the merge metadata, per-column tags
 * (`_tag_<col>`) and parked values (`__reordered_<col>`). The shadow table's key columns carry
 * the user table's key column names. Worked out once per relation (relations are kept by the
 * assembler across transactions; callers must not modify the result).
 */
export function shadowPrimaryKey(relation: RelationRef): string[] {
  const known = shadowKeys.get(relation);
  if (known) return known;
  const keys = relation.columns
    .map((c) => c.name)
    .filter((name) =>
      !SHADOW_METADATA.has(name) && !name.startsWith("_tag_") && !name.startsWith("__reordered_")
    );
  shadowKeys.set(relation, keys);
  return keys;
}

function userPrimaryKey(
  relation: RelationRef,
  shadow: RowChange[],
  shadowTable: string,
): string[] | undefined {
  const match = shadow.find((s) => s.relation.table === shadowTable);
  if (!match) return undefined;
  const pk = shadowPrimaryKey(match.relation);
  const names = new Set(relation.columns.map((c) => c.name));
  return pk.every((name) => names.has(name)) ? pk : undefined;
}

/**
 * A key for matching shadow rows to user rows within one transaction. Text values cannot
 * hold NUL, so NUL separates the parts; NULL and text are told apart by a prefix. (Built for
 * every change: cheaper than JSON.)
 */
function rowKey(table: string, pk: readonly string[], row: Row): string {
  let key = table;
  for (let i = 0; i < pk.length; i++) {
    const value = row[pk[i]];
    key += value === null || value === undefined ? "\u0000n" : `\u0000s${value}`;
  }
  return key;
}
