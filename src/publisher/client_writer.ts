/**
 * `logical_replication` mode's writer: a client transaction becomes a published transaction
 * for Postgres's subscription — the client's LSN row for `electric.acknowledged_client_lsns`
 * first, then its runs of changes as the writes module plans them (postgres-side.md §8.3,
 * §8.7): a set-based run as one `electric.client_merge_statements` row carrying its
 * statements, which that table's trigger runs; any other run as the user-table row and the
 * shadow row of the two-insert protocol per change, which the merge triggers turn into the
 * merged write (Postgres's apply worker has the built-in `session_replication_role =
 * replica`). Either way the merge happens in Postgres, inside the applied transaction.
 */
import { Buffer } from "node:buffer";
import { shadowTableName } from "../storage/mod.ts";
import {
  type ClientChange,
  clientChangeRuns,
  type ClientTransaction,
  type ClientWriter,
  maskText,
  mergedGroupSql,
  modifiedMask,
  type ParsedTag,
  tagArrayText,
  tagText,
  type WriteOutcome,
} from "../writes/mod.ts";
import { CLIENT_MERGE_STATEMENTS } from "./catalog.ts";
import type { PublishOutcome } from "./server.ts";
import type { PublishedChange, PublishedTransaction } from "./stream.ts";

export function toPublishedTransaction(
  tx: ClientTransaction,
): PublishedTransaction | { error: string } {
  const changes: PublishedChange[] = [{
    table: { schema: "electric", name: "acknowledged_client_lsns" },
    values: { client_id: tx.clientId, lsn: `\\x${Buffer.from(tx.lsn).toString("hex")}` },
  }];
  const planned = clientChangeRuns(tx);
  if (!planned.ok) return { error: planned.error.message };
  for (const run of planned.runs) {
    if (run.kind === "merged") {
      changes.push({
        table: { schema: "electric", name: CLIENT_MERGE_STATEMENTS },
        values: { statements: textArray(mergedGroupSql(run.members, planned.tag)) },
      });
      continue;
    }
    for (const { change, observed } of run.members) {
      changes.push(userRow(change), shadowRow(change, planned.tag, observed));
    }
  }
  return { commitTimestamp: new Date(Number(tx.commitTimestampMs)), changes };
}

/** A text[] in array input form: every element quoted, `\` and `"` escaped. */
function textArray(items: readonly string[]): string {
  return `{${
    items.map((item) => `"${item.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`).join(",")
  }}`;
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
  values._tag = tagText(tag);
  values._is_a_delete_operation = change.kind === "delete" ? "t" : "f";
  values._observed_tags = tagArrayText(observed);
  values._modified_columns_bit_mask = maskText(modifiedMask(change));
  return { table: { schema: "electric", name: shadowTableName(table.schema, table.name) }, values };
}

/**
 * A `ClientWriter` that hands transactions to the publisher; each outcome is known once
 * Postgres's subscription confirms it applied the transaction (or the publisher gives up).
 */
export function publisherWriter(
  publisher: { publish(tx: PublishedTransaction): Promise<PublishOutcome> },
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
      return publisher.publish(published).then((outcome): WriteOutcome =>
        outcome.applied
          ? { ok: true }
          : { ok: false, error: { code: "REJECTED_BY_POSTGRES", message: outcome.reason } }
      );
    },
  };
}
