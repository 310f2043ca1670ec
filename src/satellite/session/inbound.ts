/**
 * The client → server direction of one connection (satellite-protocol.md §4.3, §4.5):
 * client relations, then SatOpLog messages assembled into transactions, each value validated
 * against the electrified schema and handed to the writer. A bad transaction stops the
 * connection with INVALID_REQUEST naming the table and column; the transactions before it in
 * the same message are still written.
 */
import type { SatOpLog, SatOpRow, SatRelation } from "../../gen/mod.ts";
import type { CatalogHolder } from "../../migrations/mod.ts";
import { findTable, type SchemaModel, type TableModel } from "../../schema/mod.ts";
import type { RowWrite } from "../../permissions/mod.ts";
import type { Logger } from "../../telemetry/mod.ts";
import type { ClientChange, ClientTransaction, ClientWriter } from "../../writes/mod.ts";
import { type ClientRelation, clientRelationFrom, decodeClientRow } from "../serialization/mod.ts";
import type { InboundHandler } from "./deps.ts";
import type { SatelliteMetrics } from "./metrics.ts";
import { SatErrorResp_ErrorCode as ErrorCode } from "./wire.ts";

export interface InboundProblem {
  code: ErrorCode;
  message: string;
  lsn?: Uint8Array;
}

export interface InboundOptions {
  clientId: string;
  catalogs: CatalogHolder;
  writer: ClientWriter;
  logger: Logger;
  /** Ends the connection when Postgres later refuses one of its transactions. */
  fail: (problem: InboundProblem) => void;
  /** Takes each write handed to the writer, until it is applied or refused. */
  track?: (write: Promise<unknown>) => void;
  /**
   * Why the user may not make a transaction's writes (permissions, checked against the rows
   * Postgres holds now); undefined when allowed. A transaction with one refused change is
   * refused whole before anything of it is written.
   */
  refusal?: (writes: readonly RowWrite[]) => Promise<string | undefined>;
  /** Counts transactions applied and refused. */
  metrics?: Pick<SatelliteMetrics, "clientTransactionsApplied" | "clientTransactionsRefused">;
}

interface Open {
  lsn: Uint8Array;
  commitTimestampMs: bigint;
  changes: ClientChange[];
}

export class Inbound implements InboundHandler {
  #o: InboundOptions;
  #relations = new Map<number, ClientRelation>();
  #open: Open | undefined;
  #closed = false;

  constructor(options: InboundOptions) {
    this.#o = options;
  }

  relation(message: SatRelation): void {
    this.#relations.set(message.relationId, clientRelationFrom(message));
  }

  close(): void {
    this.#closed = true;
  }

  async opLog(message: SatOpLog): Promise<InboundProblem | undefined> {
    const model = this.#o.catalogs.get()?.current();
    if (!model) return { code: ErrorCode.INTERNAL, message: "The schema is not loaded yet" };
    for (const { op } of message.ops) {
      switch (op.case) {
        case "begin": {
          if (this.#open) return this.#problem("Transaction began inside another transaction");
          if (op.value.lsn.length === 0) {
            return { code: ErrorCode.INVALID_REQUEST, message: "Transaction without an LSN" };
          }
          this.#open = {
            lsn: op.value.lsn,
            commitTimestampMs: op.value.commitTimestamp,
            changes: [],
          };
          break;
        }
        case "commit": {
          if (!this.#open) return this.#problem("Commit without a transaction");
          const refused = await this.#refusal(this.#open);
          if (refused) {
            this.#o.metrics?.clientTransactionsRefused.inc();
            return this.#problem(`Transaction refused: ${refused}`);
          }
          this.#submit(this.#open);
          this.#open = undefined;
          break;
        }
        case "insert":
        case "update":
        case "delete":
        case "compensation": {
          if (!this.#open) return this.#problem("Row operation outside a transaction");
          const change = this.#change(model, op);
          if ("message" in change) {
            this.#o.metrics?.clientTransactionsRefused.inc();
            return { ...change, lsn: this.#open.lsn };
          }
          this.#open.changes.push(change);
          break;
        }
        default:
          return this.#problem(`Clients cannot send ${op.case ?? "empty"} operations`);
      }
    }
    return undefined;
  }

  /** The first permission refusal among the transaction's changes. */
  #refusal(open: Open): Promise<string | undefined> {
    const refusal = this.#o.refusal;
    if (!refusal) return Promise.resolve(undefined);
    const writes: RowWrite[] = [];
    for (const change of open.changes) {
      if (change.kind === "compensation") continue; // names a row, writes nothing
      writes.push({
        privilege: change.kind,
        table: change.table,
        record: change.record,
        columns: change.kind === "insert"
          ? change.present
          : change.kind === "update"
          ? change.modified
          : new Set(),
      });
    }
    return refusal(writes);
  }

  #problem(message: string): InboundProblem {
    return { code: ErrorCode.INVALID_REQUEST, message, lsn: this.#open?.lsn };
  }

  #submit(open: Open): void {
    const tx: ClientTransaction = {
      clientId: this.#o.clientId,
      lsn: open.lsn,
      commitTimestampMs: open.commitTimestampMs,
      changes: open.changes,
    };
    const write = this.#o.writer.write(tx);
    this.#o.track?.(write);
    write.then((outcome) => {
      const metrics = this.#o.metrics;
      if (outcome.ok) metrics?.clientTransactionsApplied.inc();
      else metrics?.clientTransactionsRefused.inc();
      if (outcome.ok || this.#closed) return;
      this.#o.fail({
        code: ErrorCode.INVALID_REQUEST,
        message: `Transaction refused: ${outcome.error.message}`,
        lsn: open.lsn,
      });
    });
  }

  #change(
    model: SchemaModel,
    op: Extract<
      SatOpLog["ops"][number]["op"],
      { case: "insert" | "update" | "delete" | "compensation" }
    >,
  ): ClientChange | InboundProblem {
    const relation = this.#relations.get(op.value.relationId);
    if (!relation) return this.#problem(`Unknown relation id ${op.value.relationId}`);
    const table = findTable(model, relation.schema, relation.table);
    if (!table) {
      return this.#problem(`Table "${relation.schema}"."${relation.table}" is not electrified`);
    }
    const decode = (row: SatOpRow | undefined, allowNulls = false) => {
      if (!row) {
        return { ok: false as const, message: `Missing row data for table "${table.name}"` };
      }
      const decoded = decodeClientRow(table, relation, row, model, {
        allowNullsInNotNull: allowNulls,
      });
      return decoded.ok
        ? decoded
        : { ok: false as const, message: `${decoded.error.message} in table "${table.name}"` };
    };
    const keys = new Set(table.primaryKey);
    const nonKey = table.columns.filter((c) => !keys.has(c.name)).map((c) => c.name);
    switch (op.case) {
      case "insert": {
        const row = decode(op.value.rowData);
        if (!row.ok) return this.#problem(row.message);
        const missing = missingKey(table, row.present);
        if (missing) return this.#problem(missing);
        return change(
          "insert",
          table,
          row.record,
          row.present,
          new Set(nonKey.filter((c) => row.present.has(c))),
          op.value.tags,
        );
      }
      case "update": {
        const row = decode(op.value.rowData);
        if (!row.ok) return this.#problem(row.message);
        const missing = missingKey(table, row.present);
        if (missing) return this.#problem(missing);
        if (!op.value.oldRowData) {
          // An update without the old row is a legacy compensation.
          return change("compensation", table, row.record, row.present, new Set(), op.value.tags);
        }
        const old = decode(op.value.oldRowData);
        if (!old.ok) return this.#problem(old.message);
        const changedKeys = table.primaryKey.filter((k) =>
          old.present.has(k) && old.record[k] !== row.record[k]
        );
        if (changedKeys.length > 0) {
          return this.#problem(
            `Attempt to update table ${table.name} primary key(s) [${changedKeys.join(", ")}]`,
          );
        }
        const modified = nonKey.filter((c) =>
          row.present.has(c) && (!old.present.has(c) || old.record[c] !== row.record[c])
        );
        return change("update", table, row.record, row.present, new Set(modified), op.value.tags);
      }
      case "delete": {
        const row = decode(op.value.oldRowData);
        if (!row.ok) return this.#problem(row.message);
        const missing = missingKey(table, row.present);
        if (missing) return this.#problem(missing);
        return change("delete", table, row.record, row.present, new Set(), op.value.tags);
      }
      case "compensation": {
        const row = decode(op.value.pkData, true);
        if (!row.ok) return this.#problem(row.message);
        const missing = missingKey(table, row.present);
        if (missing) return this.#problem(missing);
        return change("compensation", table, row.record, row.present, new Set(), op.value.tags);
      }
    }
  }
}

function change(
  kind: ClientChange["kind"],
  table: TableModel,
  record: Record<string, string | null>,
  present: Set<string>,
  modified: Set<string>,
  observedTags: string[],
): ClientChange {
  return { kind, table, record, present, modified, observedTags };
}

function missingKey(table: TableModel, present: ReadonlySet<string>): string | undefined {
  const missing = table.primaryKey.filter((k) => !present.has(k));
  return missing.length > 0
    ? `Row of table "${table.name}" lacks primary key column(s) ${
      missing.map((k) => `"${k}"`).join(", ")
    }`
    : undefined;
}
