/**
 * `logical_replication` mode's writer: a client transaction becomes a published transaction
 * for Postgres's subscription — the client's LSN row for `electric.acknowledged_client_lsns`
 * first, then per change the user-table row and the shadow row of the two-insert protocol
 * (postgres-side.md §8.3, §8.7). Postgres's apply worker runs them with the built-in
 * `session_replication_role = replica`, which is what makes the merge triggers fire.
 */
import { Buffer } from "node:buffer";
import { shadowTableName } from "../storage/mod.ts";
import {
  type ClientChange,
  type ClientTransaction,
  type ClientWriter,
  parseClientTag,
  type ParsedTag,
  tagArrayText,
  tagText,
  type WriteOutcome,
} from "../writes/mod.ts";
import type { PublishedChange, PublishedTransaction } from "./stream.ts";

export function toPublishedTransaction(
  tx: ClientTransaction,
): PublishedTransaction | { error: string } {
  const changes: PublishedChange[] = [{
    table: { schema: "electric", name: "acknowledged_client_lsns" },
    values: { client_id: tx.clientId, lsn: `\\x${Buffer.from(tx.lsn).toString("hex")}` },
  }];
  const tag: ParsedTag = { ms: tx.commitTimestampMs, source: tx.clientId };
  for (const change of tx.changes) {
    const observed: ParsedTag[] = [];
    for (const text of change.observedTags) {
      const parsed = parseClientTag(text);
      if (!parsed) return { error: `Invalid tag "${text.slice(0, 80)}"` };
      observed.push(parsed);
    }
    changes.push(userRow(change), shadowRow(change, tag, observed));
  }
  return { commitTimestamp: new Date(Number(tx.commitTimestampMs)), changes };
}

function userRow(change: ClientChange): PublishedChange {
  const keys = new Set(change.table.primaryKey);
  const values: Record<string, string | null> = {};
  for (const column of change.table.columns) {
    const written = keys.has(column.name) ||
      (change.kind !== "compensation" && change.present.has(column.name));
    values[column.name] = written ? change.record[column.name] ?? null : null;
  }
  return { table: { schema: change.table.schema, name: change.table.name }, values };
}

function shadowRow(change: ClientChange, tag: ParsedTag, observed: ParsedTag[]): PublishedChange {
  const { table } = change;
  const values: Record<string, string | null> = {};
  for (const key of table.primaryKey) values[key] = change.record[key] ?? null;
  const mask = table.columns
    .filter((column) => !table.primaryKey.includes(column.name))
    .map((column) =>
      change.kind !== "delete" && change.kind !== "compensation" && change.modified.has(column.name)
    );
  values._tag = tagText(tag);
  values._is_a_delete_operation = change.kind === "delete" ? "t" : "f";
  values._observed_tags = tagArrayText(observed);
  values._modified_columns_bit_mask = `{${mask.map((m) => (m ? "t" : "f")).join(",")}}`;
  return { table: { schema: "electric", name: shadowTableName(table.schema, table.name) }, values };
}

/** A `ClientWriter` that hands transactions to the publisher (applied when Postgres pulls them). */
export function publisherWriter(
  publisher: { publish(tx: PublishedTransaction): void },
): ClientWriter {
  return {
    write(tx: ClientTransaction): Promise<WriteOutcome> {
      const published = toPublishedTransaction(tx);
      if ("error" in published) {
        return Promise.resolve({
          ok: false,
          error: { code: "INVALID_TAG", message: published.error },
        });
      }
      publisher.publish(published);
      return Promise.resolve({ ok: true });
    },
  };
}
