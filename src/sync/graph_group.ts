/**
 * A graph group at run time: one membership graph (shapes/graph_state.ts) following the
 * transaction log for every client of the group, so a transaction is filtered once however
 * many clients hold the group. Each transaction's outcome is kept as a *step* until every
 * attached client has passed it; clients read steps at their own pace.
 *
 * Life of a group: it starts from a snapshot read (its first client's subscription data, or a
 * resume), skipping the transactions that snapshot already reflects; at the snapshot's
 * insertion point it loads the rows and from then on applies every transaction. Before each
 * transaction it hands out membership captures (clients joining at that point), then applies
 * the move-in data whose insertion point it is (sent to clients as additional data before the
 * transaction), then the transaction itself, which may start move-in reads of its own.
 *
 * Write-ahead: a step is handed out only once the membership changes up to it are stored
 * (membership_store.ts), so a client never holds a row storage does not know about.
 */
import type { Limiter } from "../lifecycle/mod.ts";
import type { Transaction, TransactionLog } from "../replication/mod.ts";
import {
  fetchMoveIn,
  GraphState,
  type GroupDefinition,
  type MoveInRequest,
  type OutChange,
  type RowKey,
  type ShapeRow,
} from "../shapes/mod.ts";
import type { Sql } from "../storage/mod.ts";
import type { Logger } from "../telemetry/mod.ts";
import type { GroupMembershipLog, MembershipStore } from "./membership_store.ts";
import { type ConsistentRead, SnapshotRead } from "./snapshot.ts";
import type { Visibility } from "./visibility.ts";

/** Rows a move-in read fetched, sent as one additional-data block before a transaction. */
export interface AdditionalBlock {
  /** LSN of the transaction whose change caused the move-in (clients map it to their ref). */
  trigger: bigint;
  rows: ShapeRow[];
}

/** What the group's clients receive at one transaction. */
export interface GroupStep {
  /** Move-in data applied just before the transaction. */
  additional: AdditionalBlock[];
  changes: OutChange[];
  /** The transaction started move-in reads: clients give it an additional-data ref. */
  movesIn: boolean;
}

export const EMPTY_STEP: GroupStep = Object.freeze({
  additional: [],
  changes: [],
  movesIn: false,
}) as GroupStep;

export interface GraphGroupDeps {
  log: TransactionLog;
  pool: () => Sql | undefined;
  store: MembershipStore;
  /** Bounds the group's own move-in reads (kept apart from client reads, which wait on groups). */
  moveInReads: Limiter;
  /** Streamed transactions not visible yet, which snapshot reads wait for (absent in tests). */
  visibility?: Visibility;
  logger: Logger;
  /** Starts a move-in read after `trigger`; default: a snapshot read on `pool` (tests swap it). */
  readMoveIn?: (
    trigger: bigint,
    request: MoveInRequest,
    owner: string,
  ) => ConsistentRead<ShapeRow[]>;
}

/** The keys a group held at an insertion point, and the change position to await as durable. */
export interface MembershipCapture {
  keys: Set<RowKey>;
  durable: Promise<void>;
}

interface Capture {
  read: ConsistentRead<unknown>;
  resolve: (capture: MembershipCapture) => void;
  reject: (error: unknown) => void;
}

interface PendingMoveIn {
  trigger: bigint;
  request: MoveInRequest;
  read: ConsistentRead<ShapeRow[]>;
}

/** Most steps kept for slow clients before the slowest ones are dropped. */
const MAX_KEPT_STEPS = 200_000;

export class GraphGroup {
  readonly definition: GroupDefinition;
  readonly #deps: GraphGroupDeps;
  readonly #state: GraphState;
  readonly #start: ConsistentRead<ShapeRow[]>;
  readonly #stop = new AbortController();
  #membership: GroupMembershipLog | undefined;
  #active = false;
  #failure: Error | undefined;
  /** LSN of the last transaction looked at. */
  #position: bigint;
  /** Highest membership change position up to the last step: what must be durable. */
  #needs = -1n;
  #steps = new Map<bigint, { step: GroupStep; needs: bigint }>();
  #captures: Capture[] = [];
  #moveIns: PendingMoveIn[] = [];
  #waiters = new Set<() => void>();
  /** Steps at or before this may have been dropped. */
  #prunedThrough = -1n;
  /** Per attached client: the position it has consumed up to. */
  #clients = new Map<object, bigint>();
  #onIdle: (() => void) | undefined;
  readonly done: Promise<void>;

  /**
   * `start` reads the group's rows in a snapshot (fetchGroupRows); the group takes effect at
   * its insertion point.
   */
  constructor(
    definition: GroupDefinition,
    deps: GraphGroupDeps,
    start: ConsistentRead<ShapeRow[]>,
  ) {
    this.definition = definition;
    this.#deps = deps;
    this.#state = new GraphState(definition);
    this.#start = start;
    this.#position = start.base;
    this.done = this.#run().catch((error) => this.#fail(error as Error));
  }

  /** The read the group started from. */
  get startRead(): ConsistentRead<ShapeRow[]> {
    return this.#start;
  }

  /** Resolves once the group loaded its rows (with the durable position of that load). */
  async started(): Promise<MembershipCapture> {
    await this.#start.result;
    while (!this.#active && !this.#failure) await this.#changed();
    if (this.#failure) throw this.#failure;
    return { keys: new Set(this.#state.keys()), durable: this.#membership!.durable(this.#needs) };
  }

  get failed(): Error | undefined {
    return this.#failure;
  }

  get size(): number {
    return this.#state.size;
  }

  has(key: RowKey): boolean {
    return this.#state.has(key);
  }

  keyOf(schema: string, table: string, record: Record<string, string | null>) {
    return this.#state.keyOf(schema, table, record);
  }

  /** The durable log of this group's membership (after the group started). */
  async membershipLog(): Promise<GroupMembershipLog> {
    await this.#start.result;
    while (!this.#active && !this.#failure) await this.#changed();
    if (this.#failure) throw this.#failure;
    return this.#membership!;
  }

  /** A client consumes steps from here on; `advance` tells the group where it got to. */
  attach(client: object, position: bigint): void {
    this.#clients.set(client, position);
  }

  advance(client: object, position: bigint): void {
    if (this.#clients.has(client)) this.#clients.set(client, position);
    this.#prune();
  }

  detach(client: object): void {
    this.#clients.delete(client);
    if (this.#clients.size === 0) this.#onIdle?.();
  }

  get clientCount(): number {
    return this.#clients.size;
  }

  /** Called when the last client detaches (the hub may stop the group). */
  onIdle(callback: () => void): void {
    this.#onIdle = callback;
  }

  stop(): void {
    this.#stop.abort();
    this.#notify();
  }

  /**
   * The keys the group holds at `read`'s insertion point (before that transaction's move-in
   * data). `read` must have been requested after the group started.
   */
  capture(read: ConsistentRead<unknown>): Promise<MembershipCapture> {
    return new Promise((resolve, reject) => {
      if (this.#failure) return reject(this.#failure);
      this.#captures.push({ read, resolve, reject });
      this.#notify();
    });
  }

  /** The step of `tx`, once the group got there and its membership is durable. */
  async step(tx: Transaction): Promise<GroupStep> {
    while (this.#position < tx.lsn) {
      if (this.#failure) throw this.#failure;
      if (this.#stop.signal.aborted) throw new Error("The shape group stopped");
      await this.#changed();
    }
    if (this.#failure) throw this.#failure;
    const kept = this.#steps.get(tx.lsn);
    if (!kept) {
      if (tx.lsn <= this.#prunedThrough) {
        throw new Error("The client fell behind its shape group");
      }
      return EMPTY_STEP;
    }
    if (kept.needs >= 0n) await this.#membership!.durable(kept.needs);
    return kept.step;
  }

  #changed(): Promise<void> {
    return new Promise((resolve) => this.#waiters.add(resolve));
  }

  #notify(): void {
    const waiters = [...this.#waiters];
    this.#waiters.clear();
    for (const wake of waiters) wake();
  }

  #fail(error: Error): void {
    if (this.#stop.signal.aborted) return;
    this.#failure = error;
    this.#deps.logger.warning(`A shape group failed: ${error.message}`);
    for (const capture of this.#captures.splice(0)) capture.reject(error);
    this.#notify();
  }

  async #run(): Promise<void> {
    const signal = this.#stop.signal;
    for await (const event of this.#deps.log.follow(this.#start.base, signal)) {
      if (signal.aborted) return;
      if (event.kind === "behind_window") {
        throw new Error("The shape group fell behind the transaction cache");
      }
      const tx = event.transaction;
      if (!this.#active) {
        await this.#start.info;
        if (!this.#start.isInsertionPoint(tx)) {
          this.#moveTo(tx.lsn);
          continue;
        }
        await this.#begin();
      }
      await this.#handOutCaptures(tx);
      const additional = await this.#applyMoveIns(tx);
      const round = this.#state.apply(tx);
      this.#record(tx.lsn, round.added, round.removed);
      for (const request of round.moveIns) this.#startMoveIn(tx.lsn, request);
      if (additional.length > 0 || round.changes.length > 0 || round.moveIns.length > 0) {
        this.#steps.set(tx.lsn, {
          step: { additional, changes: round.changes, movesIn: round.moveIns.length > 0 },
          needs: this.#needs,
        });
      }
      this.#moveTo(tx.lsn);
    }
  }

  #moveTo(lsn: bigint): void {
    this.#position = lsn;
    this.#notify();
  }

  /** Loads the start rows and reconciles storage with them (keys left open by a former life). */
  async #begin(): Promise<void> {
    const rows = await this.#start.result;
    this.#membership = await this.#deps.store.open(this.definition.key);
    const stored = await this.#membership.openKeys();
    const { added } = this.#state.load(rows);
    const now = new Set(added);
    const mark = this.#position + 1n;
    this.#record(
      mark,
      added.filter((key) => !stored.has(key)),
      [...stored].filter((key) => !now.has(key)),
    );
    this.#active = true;
    this.#notify();
  }

  #record(lsn: bigint, added: readonly RowKey[], removed: readonly RowKey[]): void {
    if (added.length === 0 && removed.length === 0) return;
    this.#membership!.record(lsn, added, removed);
    if (lsn > this.#needs) this.#needs = lsn;
  }

  async #handOutCaptures(tx: Transaction): Promise<void> {
    while (this.#captures.length > 0) {
      const capture = this.#captures[0];
      try {
        await capture.read.info;
      } catch (error) {
        this.#captures.shift();
        capture.reject(error);
        continue;
      }
      if (!capture.read.isInsertionPoint(tx)) return;
      this.#captures.shift();
      capture.resolve({
        keys: new Set(this.#state.keys()),
        durable: this.#needs >= 0n ? this.#membership!.durable(this.#needs) : Promise.resolve(),
      });
    }
  }

  async #applyMoveIns(tx: Transaction): Promise<AdditionalBlock[]> {
    const blocks: AdditionalBlock[] = [];
    while (this.#moveIns.length > 0) {
      const pending = this.#moveIns[0];
      await pending.read.info;
      if (!pending.read.isInsertionPoint(tx)) break;
      this.#moveIns.shift();
      const rows = await pending.read.result;
      const applied = this.#state.applyMoveIn(pending.request, rows);
      this.#record(this.#position + 1n, applied.added, applied.removed);
      if (applied.fresh.length > 0) blocks.push({ trigger: pending.trigger, rows: applied.fresh });
    }
    return blocks;
  }

  #startMoveIn(trigger: bigint, request: MoveInRequest): void {
    const owner = this.definition.owner ?? "";
    const read = this.#deps.readMoveIn?.(trigger, request, owner) ?? this.#moveInRead(
      trigger,
      request,
      owner,
    );
    read.result.catch(() => {});
    this.#moveIns.push({ trigger, request, read });
  }

  #moveInRead(trigger: bigint, request: MoveInRequest, owner: string): ConsistentRead<ShapeRow[]> {
    const sql = this.#deps.pool();
    if (!sql) throw new Error("Postgres is not connected");
    return new SnapshotRead(
      {
        sql,
        base: trigger,
        causedBy: "shape group move-in",
        limiter: this.#deps.moveInReads,
        visibility: this.#deps.visibility,
      },
      (snapshot) => fetchMoveIn(snapshot, request, { userId: owner }),
    );
  }

  #prune(): void {
    let oldest: bigint | undefined;
    for (const position of this.#clients.values()) {
      if (oldest === undefined || position < oldest) oldest = position;
    }
    if (oldest === undefined) oldest = this.#position;
    for (const lsn of this.#steps.keys()) {
      if (lsn > oldest) break;
      this.#steps.delete(lsn);
      this.#prunedThrough = lsn;
    }
    if (this.#steps.size > MAX_KEPT_STEPS) {
      for (const [client, position] of this.#clients) {
        if (position === oldest) this.#clients.delete(client);
      }
    }
  }
}
