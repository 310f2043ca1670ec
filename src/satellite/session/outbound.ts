/**
 * The server → client stream of one connection: migrations, relations, transactions filtered
 * through the client's shapes, subscription data at its insertion point, move-in data, GONE
 * batches, flow control and acknowledgements (satellite-protocol.md §3.4, §3.7, §4, §7).
 *
 * Output discipline: everything asynchronous (waiting for the catalog, for data queries, for
 * the ack window) happens first; the frames of one unit (a transaction, a subscription
 * delivery, a GONE batch) are then written in one synchronous run, so units never interleave.
 */
import { create } from "@bufbuild/protobuf";
import {
  SatShapeDataBeginSchema,
  SatShapeDataEndSchema,
  SatSubsDataBeginSchema,
  SatSubsDataEndSchema,
  SatSubsDataError_Code,
  SatSubsDataErrorSchema,
  SatUnsubsDataBeginSchema,
  SatUnsubsDataEndSchema,
} from "../../gen/mod.ts";
import { encodeFrame } from "../codec/mod.ts";
import {
  capturedStatements,
  type MigrationEntry,
  type SchemaCatalog,
  toSatOpMigrate,
} from "../../migrations/mod.ts";
import type { Transaction, TransactionLog } from "../../replication/mod.ts";
import { findTable, type SchemaModel, type TableModel } from "../../schema/mod.ts";
import {
  fetchMoveIn,
  type MoveInRequest,
  type OutChange,
  type ShapeRow,
  type ShapeState,
  type SubscriptionPlan,
} from "../../shapes/mod.ts";
import type { Limiter } from "../../lifecycle/mod.ts";
import type { Sql } from "../../storage/mod.ts";
import type { Logger } from "../../telemetry/mod.ts";
import { encodePkRow, encodeRow, relationFor } from "../serialization/mod.ts";
import { readConsistently, readSubscriptionData, xidAtOrAfter } from "./initial_sync.ts";
import { lsnToBytes, opLogFrame, transactionOps, type TransOp } from "./wire.ts";

/** Transactions the client may hold unacknowledged; advertised in startReplication. */
export const UNACKED_WINDOW = 30;
/** Rows per SatOpLog inside shape and move-in data. */
const ROWS_PER_FRAME = 500;
/** How long a transaction waits for the migration consumer to catch up with it. */
const MIGRATION_WAIT_MS = 10_000;

export interface OutboundOptions {
  clientId: string;
  userId: string;
  dialect: "sqlite" | "postgresql";
  log: TransactionLog;
  catalog: SchemaCatalog;
  shapes: ShapeState;
  pool: () => Sql | undefined;
  /** Bounds concurrent snapshot reads (initial data and move-ins) across connections. */
  snapshots: Limiter;
  logger: Logger;
  send: (frame: Uint8Array) => void;
  /** Ends the connection with a top-level error (the client reconnects for REPLICATION_FAILED). */
  fail: (reason: "behind_window" | "internal", message: string) => void;
  /** Called when the state is known to match what the client acknowledged. */
  checkpoint: (lsn: bigint, shapes: ShapeState) => void;
}

interface Unacked {
  id: bigint;
  lsn: bigint;
}

type Delivery =
  | {
    kind: "subscription";
    plan: SubscriptionPlan;
    xmin?: number;
    xminKnown: Promise<void>;
    data: Promise<Map<string, ShapeRow[]>>;
  }
  | {
    kind: "move_in";
    ref: bigint;
    request: MoveInRequest;
    xmin?: number;
    xminKnown: Promise<void>;
    data: Promise<ShapeRow[]>;
  };

export class OutboundStream {
  #o: OutboundOptions;
  #model: SchemaModel;
  #relations = new Map<string, string>();
  /** The table model each relation was last announced from (a cheap per-row check). */
  #announced = new Map<string, TableModel>();
  #sentVersions = new Set<string>();
  #unacked: Unacked[] = [];
  #lastSentLsn: bigint;
  #deliveries: Delivery[] = [];
  #wake = new Set<() => void>();
  #nextRef = 1n;
  #stop = new AbortController();

  /**
   * `known`: migration versions the client already has (bundled, or received before a
   * resume); they are stripped when their transactions come by in the stream.
   */
  constructor(
    options: OutboundOptions,
    start: { lsn: bigint; model: SchemaModel; known: Iterable<string> },
  ) {
    this.#o = options;
    this.#lastSentLsn = start.lsn;
    this.#model = start.model;
    for (const version of start.known) this.#sentVersions.add(version);
  }

  get lastSentLsn(): bigint {
    return this.#lastSentLsn;
  }

  stop(): void {
    this.#stop.abort();
    this.#notify();
  }

  /** Sends the migrations a fresh client lacks, one transaction each, all at position `lsn`. */
  sendInitialMigrations(entries: readonly MigrationEntry[]): void {
    for (const entry of entries) {
      this.#sentVersions.add(entry.version);
      this.#emitTransaction({
        header: {
          commitTimestampMs: BigInt(Date.now()),
          lsn: this.#lastSentLsn,
          origin: "postgres_1",
          transactionId: entry.txid,
          isMigration: true,
        },
        migrations: [entry],
        changes: [],
      });
    }
  }

  /** Streams every transaction after the start position until stopped. */
  async run(): Promise<void> {
    const signal = this.#stop.signal;
    try {
      for await (const event of this.#o.log.follow(this.#lastSentLsn, signal)) {
        if (signal.aborted) return;
        if (event.kind === "behind_window") {
          this.#o.fail("behind_window", "The client fell behind the server's transaction cache");
          return;
        }
        await this.#deliverDue(event.transaction);
        await this.#waitForWindow();
        if (signal.aborted) return;
        await this.#sendTransaction(event.transaction);
      }
    } catch (error) {
      if (!signal.aborted) {
        this.#o.fail("internal", `Replication to the client failed: ${(error as Error).message}`);
      }
    }
  }

  /** Starts reading a subscription's data; it is delivered at its insertion point. */
  subscribe(plan: SubscriptionPlan): void {
    let resolveXmin!: () => void;
    const delivery: Delivery = {
      kind: "subscription",
      plan,
      xminKnown: new Promise((resolve) => resolveXmin = resolve),
      data: Promise.resolve(new Map()),
    };
    const sql = this.#o.pool();
    delivery.data = sql
      ? readSubscriptionData(sql, plan, {
        userId: this.#o.userId,
        limiter: this.#o.snapshots,
        onXmin: (xmin) => {
          delivery.xmin = xmin;
          resolveXmin();
        },
      })
      : Promise.reject(new Error("Postgres is not connected"));
    // A failure before the snapshot still has to release the pump.
    delivery.data.catch(() => resolveXmin());
    this.#deliveries.push(delivery);
  }

  /** Removes subscriptions; sends the GONE batch for rows no other subscription holds. */
  unsubscribe(ids: string[]): void {
    this.#deliveries = this.#deliveries.filter((d) =>
      d.kind !== "subscription" || !ids.includes(d.plan.subscriptionId)
    );
    const { gone, removedIds } = this.#o.shapes.removeSubscriptions(ids);
    if (removedIds.length === 0) return;
    const frames: Uint8Array[] = [];
    const ops: TransOp[] = [];
    for (const row of gone) {
      const table = this.#table(row.schema, row.table);
      if (!table) continue;
      frames.push(...this.#relationFrames(table));
      ops.push({
        op: {
          case: "gone",
          value: { relationId: table.oid, pkData: encodePkRow(table, row.record) },
        },
      });
    }
    frames.push(encodeFrame(create(SatUnsubsDataBeginSchema, {
      subscriptionIds: ids,
      lsn: lsnToBytes(this.#lastSentLsn),
    })));
    for (let i = 0; i < ops.length; i += ROWS_PER_FRAME) {
      frames.push(opLogFrame(ops.slice(i, i + ROWS_PER_FRAME)));
    }
    frames.push(encodeFrame(create(SatUnsubsDataEndSchema, {})));
    for (const frame of frames) this.#o.send(frame);
  }

  /** Handles an acknowledgement; false when it names a transaction never sent. */
  ack(transactionId: bigint): boolean {
    if (transactionId === 0n) return true;
    const index = this.#unacked.findIndex((u) => u.id === transactionId);
    if (index === -1) return false;
    const [acked] = this.#unacked.splice(0, index + 1).slice(-1);
    if (
      this.#unacked.length === 0 && acked.lsn === this.#lastSentLsn && this.#deliveries.length === 0
    ) {
      this.#o.checkpoint(acked.lsn, this.#o.shapes);
    }
    this.#notify();
    return true;
  }

  /** Replays transactions into the shape state without sending anything (resume). */
  static replay(shapes: ShapeState, transactions: readonly Transaction[], userId: string): void {
    for (const tx of transactions) shapes.filterTransaction(tx, { userId });
  }

  async #waitForWindow(): Promise<void> {
    while (this.#unacked.length >= UNACKED_WINDOW && !this.#stop.signal.aborted) {
      await new Promise<void>((resolve) => this.#wake.add(resolve));
    }
  }

  #notify() {
    const waiters = [...this.#wake];
    this.#wake.clear();
    for (const wake of waiters) wake();
  }

  /** Delivers, in order, every pending data whose insertion point `next` reaches. */
  async #deliverDue(next: Transaction): Promise<void> {
    while (this.#deliveries.length > 0) {
      const delivery = this.#deliveries[0];
      await delivery.xminKnown;
      if (delivery.xmin !== undefined && !xidAtOrAfter(next.xid, delivery.xmin)) return;
      this.#deliveries.shift();
      if (delivery.kind === "subscription") await this.#deliverSubscription(delivery);
      else await this.#deliverMoveIn(delivery);
    }
  }

  async #deliverSubscription(delivery: Extract<Delivery, { kind: "subscription" }>): Promise<void> {
    const { plan } = delivery;
    let rows: Map<string, ShapeRow[]>;
    try {
      rows = await delivery.data;
    } catch (error) {
      this.#o.logger.warning(
        `Could not read the data of subscription ${plan.subscriptionId}: ${
          (error as Error).message
        }`,
      );
      this.#o.send(encodeFrame(create(SatSubsDataErrorSchema, {
        code: SatSubsDataError_Code.SHAPE_DELIVERY_ERROR,
        message: "Could not read the subscription data",
        subscriptionId: plan.subscriptionId,
      })));
      return;
    }
    if (this.#stop.signal.aborted) return;
    const frames: Uint8Array[] = [];
    const body: Uint8Array[] = [];
    // Rows the client already holds (through other shapes) are not sent again.
    const unsent = this.#o.shapes.unsentRows(plan, rows);
    for (const request of plan.requests) {
      const ops = this.#insertOps(unsent.get(request.requestId) ?? [], frames);
      body.push(encodeFrame(create(SatShapeDataBeginSchema, { requestId: request.requestId })));
      for (let i = 0; i < ops.length; i += ROWS_PER_FRAME) {
        body.push(opLogFrame(ops.slice(i, i + ROWS_PER_FRAME)));
      }
      body.push(encodeFrame(create(SatShapeDataEndSchema, {})));
    }
    frames.push(encodeFrame(create(SatSubsDataBeginSchema, {
      subscriptionId: plan.subscriptionId,
      lsn: lsnToBytes(this.#lastSentLsn),
    })));
    frames.push(...body, encodeFrame(create(SatSubsDataEndSchema, {})));
    for (const frame of frames) this.#o.send(frame);
    this.#o.shapes.addSubscription(plan, rows);
    if (this.#unacked.length === 0 && this.#deliveries.length === 0) {
      this.#o.checkpoint(this.#lastSentLsn, this.#o.shapes);
    }
  }

  async #deliverMoveIn(delivery: Extract<Delivery, { kind: "move_in" }>): Promise<void> {
    let rows: ShapeRow[];
    try {
      rows = await delivery.data;
    } catch (error) {
      this.#o.fail("internal", `Could not read move-in data: ${(error as Error).message}`);
      return;
    }
    if (this.#stop.signal.aborted) return;
    const fresh = this.#o.shapes.applyMoveIn(delivery.request, rows);
    const frames: Uint8Array[] = [];
    const ops = this.#insertOps(fresh, frames);
    frames.push(opLogFrame([
      { op: { case: "additionalBegin", value: { ref: delivery.ref } } },
      ...ops,
      { op: { case: "additionalCommit", value: { ref: delivery.ref } } },
    ]));
    for (const frame of frames) this.#o.send(frame);
  }

  async #sendTransaction(tx: Transaction): Promise<void> {
    const migrations: MigrationEntry[] = [];
    for (const group of capturedStatements(tx)) {
      const entry = await this.#o.catalog.whenTxid(BigInt(group[0].txid), MIGRATION_WAIT_MS);
      if (!entry) {
        this.#o.logger.warning(
          `Migration of transaction ${group[0].txid} is not in the schema catalog; not sent.`,
        );
        continue;
      }
      if (!this.#sentVersions.has(entry.version)) migrations.push(entry);
    }
    if (this.#stop.signal.aborted) return;
    for (const entry of migrations) this.#sentVersions.add(entry.version);
    const { changes, moveIns } = this.#o.shapes.filterTransaction(tx, { userId: this.#o.userId });
    const ref = moveIns.length > 0 ? this.#nextRef++ : 0n;
    const sent = this.#emitTransaction({
      header: {
        commitTimestampMs: BigInt(tx.commitTimestamp.getTime()),
        lsn: tx.lsn,
        origin: tx.origin,
        transactionId: BigInt(tx.xid),
        isMigration: migrations.length > 0,
        additionalDataRef: ref,
      },
      migrations,
      changes,
      // The client's own writes always come back, even when nothing of them is in its shapes.
      force: tx.origin === this.#o.clientId,
    });
    if (!sent) {
      // Nothing was sent, but the client is now past this position as far as data goes.
      return;
    }
    for (const request of moveIns) this.#startMoveIn(ref, request);
  }

  #startMoveIn(ref: bigint, request: MoveInRequest): void {
    let resolveXmin!: () => void;
    const delivery: Delivery = {
      kind: "move_in",
      ref,
      request,
      xminKnown: new Promise((resolve) => resolveXmin = resolve),
      data: Promise.resolve([]),
    };
    const sql = this.#o.pool();
    delivery.data = sql
      ? readConsistently(
        sql,
        `tx_subquery:${ref}`,
        (snapshot) => fetchMoveIn(snapshot, request, { userId: this.#o.userId }),
        (xmin) => {
          delivery.xmin = xmin;
          resolveXmin();
        },
        this.#o.snapshots,
      )
      : Promise.reject(new Error("Postgres is not connected"));
    delivery.data.catch(() => resolveXmin());
    this.#deliveries.push(delivery);
  }

  /** Writes one transaction (relations first); false when it was skipped as empty. */
  #emitTransaction(input: {
    header: Parameters<typeof transactionOps>[0];
    migrations: MigrationEntry[];
    changes: OutChange[];
    force?: boolean;
  }): boolean {
    const frames: Uint8Array[] = [];
    const body: TransOp[] = [];
    for (const entry of input.migrations) {
      for (const op of entry.ops[this.#o.dialect]) {
        body.push({ op: { case: "migrate", value: toSatOpMigrate(op) } });
      }
      this.#model = entry.model;
      // Tables this migration creates or alters are announced again, in their new layout.
      for (const op of entry.ops[this.#o.dialect]) {
        if (!op.table) continue;
        const table = findTable(entry.model, "public", op.table.name);
        if (!table) continue;
        this.#relations.delete(key(table));
        this.#announced.delete(key(table));
        frames.push(...this.#relationFrames(table));
      }
    }
    for (const change of input.changes) {
      const table = this.#table(change.schema, change.table);
      if (!table) continue;
      frames.push(...this.#relationFrames(table));
      body.push(changeOp(table, change));
    }
    if (body.length === 0 && !input.force) return false;
    frames.push(opLogFrame(transactionOps(input.header, body)));
    for (const frame of frames) this.#o.send(frame);
    this.#unacked.push({ id: input.header.transactionId, lsn: input.header.lsn });
    this.#lastSentLsn = input.header.lsn > this.#lastSentLsn ? input.header.lsn : this.#lastSentLsn;
    return true;
  }

  #insertOps(rows: readonly ShapeRow[], frames: Uint8Array[]): TransOp[] {
    const ops: TransOp[] = [];
    for (const row of rows) {
      const table = this.#table(row.schema, row.table);
      if (!table) continue;
      frames.push(...this.#relationFrames(table));
      ops.push({
        op: {
          case: "insert",
          value: { relationId: table.oid, rowData: encodeRow(table, row.record), tags: row.tags },
        },
      });
    }
    return ops;
  }

  #table(schema: string, name: string): TableModel | undefined {
    return findTable(this.#model, schema, name) ??
      findTable(this.#o.catalog.current(), schema, name);
  }

  /** The SatRelation frame for `table` unless the client already has it in this layout. */
  #relationFrames(table: TableModel): Uint8Array[] {
    // Called for every row: the announced layout is compared by the model object first, and
    // the relation is only built when the table's model changed.
    if (this.#announced.get(key(table)) === table) return [];
    const relation = relationFor(table, this.#model);
    const signature = JSON.stringify(
      relation.columns.map((c) => [c.name, c.type, c.primaryKey, c.isNullable]),
    );
    this.#announced.set(key(table), table);
    if (this.#relations.get(key(table)) === signature) return [];
    this.#relations.set(key(table), signature);
    return [encodeFrame(relation)];
  }
}

function key(table: TableModel): string {
  return `${table.schema}.${table.name}`;
}

function changeOp(table: TableModel, change: OutChange): TransOp {
  const relationId = table.oid;
  switch (change.kind) {
    case "insert":
      return {
        op: {
          case: "insert",
          value: { relationId, rowData: encodeRow(table, change.record), tags: change.tags },
        },
      };
    case "update":
      return {
        op: {
          case: "update",
          value: {
            relationId,
            rowData: encodeRow(table, change.record),
            oldRowData: change.oldRecord ? encodeRow(table, change.oldRecord) : undefined,
            tags: change.tags,
          },
        },
      };
    case "delete":
      return {
        op: {
          case: "delete",
          value: { relationId, oldRowData: encodeRow(table, change.record), tags: [] },
        },
      };
    default:
      return {
        op: { case: "gone", value: { relationId, pkData: encodePkRow(table, change.record) } },
      };
  }
}
