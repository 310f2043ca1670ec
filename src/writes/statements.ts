/**
 * The SQL a client transaction becomes in `direct_writes` mode (postgres-side.md §8.3, §8.6):
 * the client's LSN upserted into `electric.acknowledged_client_lsns`, then the changes, in
 * runs of consecutive changes to distinct rows of one table. A run whose changes carry every
 * column is merged set-based (merged_sql.ts, effective role `merged`); any other run becomes,
 * per change, an insert of the row into the user table and an insert of the operation into
 * its shadow table, which the shadow triggers merge (effective role `replica`), sharing a pair
 * of multi-row inserts that Postgres parses and plans once. Pure: statements as text, or
 * (`parameterize`) with the values of small set-based runs as parameters, for the direct writer
 * to prepare once per connection (prepared_statements.ts).
 */
import { Buffer } from "node:buffer";
import type { TableModel } from "../schema/mod.ts";
import { shadowTableName } from "../storage/mod.ts";
import type { ClientChange, ClientTransaction } from "./client_transaction.ts";
import { keyColumns, maskText, modifiedMask } from "./columns.ts";
import { pgLiteral, quote, quoteIdent } from "./literal.ts";
import { mergedGroupParameterized, mergedGroupSql } from "./merged_sql.ts";
import { type Parameterized, parameterized } from "./parameters.ts";
import { type ChangeRunsOptions, clientChangeRuns } from "./runs.ts";
import { type ParsedTag, tagArrayText, tagText } from "./tags.ts";

export type StatementsResult =
  | { ok: true; sql: string }
  | { ok: false; error: { code: "INVALID_TAG"; message: string } };

/** A statement as text, or with its values out as parameters (parameters.ts). */
export type Statement = string | Parameterized;

export type StatementsPlan =
  | { ok: true; statements: Statement[] }
  | { ok: false; error: { code: "INVALID_TAG"; message: string } };

export interface StatementsOptions extends ChangeRunsOptions {
  /**
   * Set-based runs of up to MAX_PARAMETERIZED_ROWS rows, and the client position, come with
   * their values as parameters: their texts repeat, so they can be prepared once.
   */
  parameterize?: boolean;
}

/**
 * Runs longer than this keep their values inline: a longer run is planned once for many rows,
 * and every length would be a statement of its own to prepare.
 */
export const MAX_PARAMETERIZED_ROWS = 8;

/** The statements of a client transaction, in order (without BEGIN and COMMIT). */
export function clientTransactionStatements(
  tx: ClientTransaction,
  options: StatementsOptions = {},
): StatementsPlan {
  const planned = clientChangeRuns(tx, options);
  if (!planned.ok) return planned;
  const lsn = `\\x${Buffer.from(tx.lsn).toString("hex")}`;
  const statements: Statement[] = [
    options.parameterize
      ? parameterized((slot) =>
        positionUpsert(slot(quote(tx.clientId), "text"), slot(`${quote(lsn)}::bytea`, "bytea"))
      )
      : positionUpsert(quote(tx.clientId), `${quote(lsn)}::bytea`),
  ];
  let role: "merged" | "replica" | undefined;
  for (const run of planned.runs) {
    const wanted = run.kind === "merged" ? "merged" : "replica";
    if (role !== wanted) {
      role = wanted;
      statements.push(`SET LOCAL electric.session_replication_role = '${role}'`);
    }
    if (run.kind === "merged") {
      statements.push(
        ...(options.parameterize && run.members.length <= MAX_PARAMETERIZED_ROWS
          ? mergedGroupParameterized(run.members, planned.tag)
          : mergedGroupSql(run.members, planned.tag)),
      );
    } else {
      statements.push(
        userRowsInsert(run.members.map((m) => m.change)),
        shadowRowsInsert(run.members.map((m) => shadowValues(m.change, planned.tag, m.observed))),
      );
    }
  }
  return { ok: true, statements };
}

/** The client transaction as one text, every value inline. */
export function clientTransactionSql(
  tx: ClientTransaction,
  options: ChangeRunsOptions = {},
): StatementsResult {
  // Without `parameterize` every statement is text.
  const plan = clientTransactionStatements(tx, { ...options, parameterize: false });
  if (!plan.ok) return plan;
  return { ok: true, sql: plan.statements.map(String).join(";\n") + ";" };
}

/** The client's position moves with the transaction, in the same Postgres transaction. */
function positionUpsert(clientId: string, lsn: string): string {
  return `INSERT INTO electric.acknowledged_client_lsns (client_id, lsn) VALUES (${clientId}, ` +
    `${lsn}) ON CONFLICT (client_id) DO UPDATE SET lsn = excluded.lsn`;
}

function qualified(schema: string, table: string): string {
  return `${quoteIdent(schema)}.${quoteIdent(table)}`;
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
    columns.map((c) => quoteIdent(c.name)).join(", ")
  }) VALUES ${rows.join(", ")}`;
}

interface ShadowRow {
  table: TableModel;
  values: string[];
}

function shadowValues(change: ClientChange, tag: ParsedTag, observed: ParsedTag[]): ShadowRow {
  const { table } = change;
  return {
    table,
    values: [
      ...keyColumns(table).map((c) => pgLiteral(c.type, change.record[c.name] ?? null)),
      `${quote(tagText(tag))}::electric.tag`,
      change.kind === "delete" ? "true" : "false",
      `${quote(tagArrayText(observed))}::electric.tag[]`,
      `${quote(maskText(modifiedMask(change)))}::boolean[]`,
    ],
  };
}

function shadowRowsInsert(rows: ShadowRow[]): string {
  const { table } = rows[0];
  const columns = [
    ...keyColumns(table).map((c) => quoteIdent(c.name)),
    "_tag",
    "_is_a_delete_operation",
    "_observed_tags",
    "_modified_columns_bit_mask",
  ];
  return `INSERT INTO ${qualified("electric", shadowTableName(table.schema, table.name))} (${
    columns.join(", ")
  }) VALUES ${rows.map((row) => `(${row.values.join(", ")})`).join(", ")}`;
}
