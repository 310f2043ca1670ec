/**
 * The SQL a client transaction becomes in `direct_writes` mode (postgres-side.md §8.3, §8.6):
 * the client's LSN upserted into `electric.acknowledged_client_lsns`, then per change an insert
 * of the row into the user table and an insert of the operation into its shadow table. The
 * shadow triggers (effective role `replica`) turn the pair into the merged write. Pure: one
 * multi-statement text, sent with the simple protocol in one round trip.
 */
import { Buffer } from "node:buffer";
import type { TableModel } from "../schema/mod.ts";
import { shadowTableName } from "../storage/mod.ts";
import type { ClientChange, ClientTransaction } from "./client_transaction.ts";
import { pgLiteral, quote } from "./literal.ts";
import { parseClientTag, type ParsedTag, tagArrayText, tagText } from "./tags.ts";

export type StatementsResult =
  | { ok: true; sql: string }
  | { ok: false; error: { code: "INVALID_TAG"; message: string } };

export function clientTransactionSql(tx: ClientTransaction): StatementsResult {
  const statements = [
    "SET LOCAL electric.session_replication_role = 'replica'",
    `INSERT INTO electric.acknowledged_client_lsns (client_id, lsn) VALUES (${
      quote(tx.clientId)
    }, ` +
    `${quote(`\\x${Buffer.from(tx.lsn).toString("hex")}`)}::bytea) ` +
    "ON CONFLICT (client_id) DO UPDATE SET lsn = excluded.lsn",
  ];
  const tag: ParsedTag = { ms: tx.commitTimestampMs, source: tx.clientId };
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
    statements.push(userRowInsert(change), shadowInsert(change, tag, observed));
  }
  return { ok: true, sql: statements.join(";\n") + ";" };
}

const ident = (name: string) => `"${name.replaceAll('"', '""')}"`;

function qualified(schema: string, table: string): string {
  return `${ident(schema)}.${ident(table)}`;
}

/** The row as the client sent it (key only for compensations; omitted columns left out). */
function userRowInsert(change: ClientChange): string {
  const { table } = change;
  const keys = new Set(table.primaryKey);
  const columns = table.columns.filter((column) =>
    keys.has(column.name) || (change.kind !== "compensation" && change.present.has(column.name))
  );
  return `INSERT INTO ${qualified(table.schema, table.name)} (${
    columns.map((c) => ident(c.name)).join(", ")
  }) ` +
    `VALUES (${columns.map((c) => pgLiteral(c.type, change.record[c.name] ?? null)).join(", ")})`;
}

function shadowInsert(change: ClientChange, tag: ParsedTag, observed: ParsedTag[]): string {
  const { table } = change;
  const keys = keyColumns(table);
  const mask = table.columns
    .filter((column) => !table.primaryKey.includes(column.name))
    .map((column) =>
      change.kind !== "delete" && change.kind !== "compensation" && change.modified.has(column.name)
    );
  const columns = [
    ...keys.map((c) => ident(c.name)),
    "_tag",
    "_is_a_delete_operation",
    "_observed_tags",
    "_modified_columns_bit_mask",
  ];
  const values = [
    ...keys.map((c) => pgLiteral(c.type, change.record[c.name] ?? null)),
    `${quote(tagText(tag))}::electric.tag`,
    change.kind === "delete" ? "true" : "false",
    `${quote(tagArrayText(observed))}::electric.tag[]`,
    `${quote(`{${mask.map((m) => (m ? "t" : "f")).join(",")}}`)}::boolean[]`,
  ];
  return `INSERT INTO ${qualified("electric", shadowTableName(table.schema, table.name))} (${
    columns.join(", ")
  }) ` +
    `VALUES (${values.join(", ")})`;
}

function keyColumns(table: TableModel) {
  return table.primaryKey.map((name) => table.columns.find((c) => c.name === name)!);
}
