/**
 * The SQL a client transaction becomes in `direct_writes` mode (postgres-side.md §8.3, §8.6):
 * the client's LSN upserted into `electric.acknowledged_client_lsns`, then the changes, in
 * runs of consecutive changes to distinct rows of one table. A run whose changes carry every
 * column is merged set-based (merged_sql.ts, effective role `merged`); any other run becomes,
 * per change, an insert of the row into the user table and an insert of the operation into
 * its shadow table, which the shadow triggers merge (effective role `replica`), sharing a pair
 * of multi-row inserts that Postgres parses and plans once. Pure: one multi-statement text,
 * sent with the simple protocol in one round trip.
 */
import { Buffer } from "node:buffer";
import type { TableModel } from "../schema/mod.ts";
import { shadowTableName } from "../storage/mod.ts";
import type { ClientChange, ClientTransaction } from "./client_transaction.ts";
import { pgLiteral, quote } from "./literal.ts";
import { canMergeSetBased, mergedGroupSql } from "./merged_sql.ts";
import { parseClientTag, type ParsedTag, tagArrayText, tagText } from "./tags.ts";

export type StatementsResult =
  | { ok: true; sql: string }
  | { ok: false; error: { code: "INVALID_TAG"; message: string } };

export interface StatementsOptions {
  /** false: every run goes through the triggers (to compare both paths in tests). */
  setBased?: boolean;
}

export function clientTransactionSql(
  tx: ClientTransaction,
  options: StatementsOptions = {},
): StatementsResult {
  const statements = [
    `INSERT INTO electric.acknowledged_client_lsns (client_id, lsn) VALUES (${
      quote(tx.clientId)
    }, ` +
    `${quote(`\\x${Buffer.from(tx.lsn).toString("hex")}`)}::bytea) ` +
    "ON CONFLICT (client_id) DO UPDATE SET lsn = excluded.lsn",
  ];
  const tag: ParsedTag = { ms: tx.commitTimestampMs, source: tx.clientId };
  const changes: { change: ClientChange; observed: ParsedTag[] }[] = [];
  for (const change of tx.changes) {
    const observed: ParsedTag[] = [];
    for (const text of change.observedTags) {
      const parsed = parseClientTag(text);
      if (!parsed) {
        return {
          ok: false,
          error: { code: "INVALID_TAG", message: `Invalid tag "${text.slice(0, 80)}"` },
        };
      }
      observed.push(parsed);
    }
    changes.push({ change, observed });
  }
  let role: "merged" | "replica" | undefined;
  for (const group of pairGroups(changes.map((c) => c.change))) {
    const members = changes.slice(group.start, group.end);
    const setBased = options.setBased !== false && members.every((m) => canMergeSetBased(m.change));
    if (role !== (setBased ? "merged" : "replica")) {
      role = setBased ? "merged" : "replica";
      statements.push(`SET LOCAL electric.session_replication_role = '${role}'`);
    }
    if (setBased) {
      statements.push(...mergedGroupSql(members, tag));
    } else {
      statements.push(
        userRowsInsert(members.map((m) => m.change)),
        shadowRowsInsert(members.map((m) => shadowValues(m.change, tag, m.observed))),
      );
    }
  }
  return { ok: true, sql: statements.join(";\n") + ";" };
}

/**
 * Runs of consecutive changes that can share one pair of multi-row inserts: same table and
 * primary keys that are surely distinct. The triggers then park every row of the run before
 * resolving the first, which is the same as alternating the inserts only when no two rows of
 * the run are the same row (a second park would overwrite the first's parked values). Keys
 * are compared in a normalised form that may only make distinct keys look equal, never the
 * reverse; a key type without such a form keeps its changes in pairs of their own.
 */
function pairGroups(changes: ClientChange[]): { start: number; end: number }[] {
  const groups: { start: number; end: number }[] = [];
  let seen = new Set<string>();
  for (const [i, change] of changes.entries()) {
    const key = comparableKey(change);
    const last = groups.at(-1);
    if (
      last && key !== undefined && !seen.has(key) && changes[last.start].table === change.table &&
      comparableKey(changes[last.start]) !== undefined
    ) {
      last.end = i + 1;
      seen.add(key);
      continue;
    }
    groups.push({ start: i, end: i + 1 });
    seen = new Set(key === undefined ? [] : [key]);
  }
  return groups;
}

const DIGITS = /^[+-]?\d+$/;
const ASCII = /^[\x20-\x7e]*$/;
const NUMBER = /^\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\s*$/;

function comparableKey(change: ClientChange): string | undefined {
  const parts: string[] = [];
  for (const name of change.table.primaryKey) {
    const column = change.table.columns.find((c) => c.name === name);
    const value = change.record[name] ?? null;
    if (!column || column.type.array.length > 0 || value === null) return undefined;
    let part: string;
    switch (column.type.name) {
      case "int2":
      case "int4":
      case "int8":
        if (!DIGITS.test(value)) return undefined;
        part = BigInt(value).toString();
        break;
      case "float4":
      case "float8":
      case "numeric":
        if (!NUMBER.test(value)) return undefined;
        part = String(Number(value));
        break;
      case "uuid":
        part = value.toLowerCase().replace(/[^0-9a-f]/g, "");
        break;
      case "text":
      case "varchar":
      case "bpchar":
        // Folded, so that no collation (case- or accent-insensitive) can equate what differs here.
        part = (ASCII.test(value) ? value : value.normalize("NFKD").replace(/\p{M}/gu, ""))
          .toUpperCase().toLowerCase().trim();
        break;
      default:
        return undefined;
    }
    parts.push(part);
  }
  return JSON.stringify(parts);
}

const ident = (name: string) => `"${name.replaceAll('"', '""')}"`;

function qualified(schema: string, table: string): string {
  return `${ident(schema)}.${ident(table)}`;
}

/**
 * The rows as the client sent them (key only for compensations). A column one row omits is
 * left out when every row omits it, else given as DEFAULT, which is what leaving it out means.
 */
function userRowsInsert(changes: ClientChange[]): string {
  const { table } = changes[0];
  const keys = new Set(table.primaryKey);
  const sent = (change: ClientChange, name: string) =>
    keys.has(name) || (change.kind !== "compensation" && change.present.has(name));
  const columns = table.columns.filter((column) => changes.some((c) => sent(c, column.name)));
  const rows = changes.map((change) =>
    `(${
      columns.map((c) =>
        sent(change, c.name) ? pgLiteral(c.type, change.record[c.name] ?? null) : "DEFAULT"
      ).join(", ")
    })`
  );
  return `INSERT INTO ${qualified(table.schema, table.name)} (${
    columns.map((c) => ident(c.name)).join(", ")
  }) VALUES ${rows.join(", ")}`;
}

interface ShadowRow {
  table: TableModel;
  values: string[];
}

function shadowValues(change: ClientChange, tag: ParsedTag, observed: ParsedTag[]): ShadowRow {
  const { table } = change;
  const mask = table.columns
    .filter((column) => !table.primaryKey.includes(column.name))
    .map((column) =>
      change.kind !== "delete" && change.kind !== "compensation" && change.modified.has(column.name)
    );
  return {
    table,
    values: [
      ...keyColumns(table).map((c) => pgLiteral(c.type, change.record[c.name] ?? null)),
      `${quote(tagText(tag))}::electric.tag`,
      change.kind === "delete" ? "true" : "false",
      `${quote(tagArrayText(observed))}::electric.tag[]`,
      `${quote(`{${mask.map((m) => (m ? "t" : "f")).join(",")}}`)}::boolean[]`,
    ],
  };
}

function shadowRowsInsert(rows: ShadowRow[]): string {
  const { table } = rows[0];
  const columns = [
    ...keyColumns(table).map((c) => ident(c.name)),
    "_tag",
    "_is_a_delete_operation",
    "_observed_tags",
    "_modified_columns_bit_mask",
  ];
  return `INSERT INTO ${qualified("electric", shadowTableName(table.schema, table.name))} (${
    columns.join(", ")
  }) VALUES ${rows.map((row) => `(${row.values.join(", ")})`).join(", ")}`;
}

function keyColumns(table: TableModel) {
  return table.primaryKey.map((name) => table.columns.find((c) => c.name === name)!);
}
