/**
 * What a client receives of one server transaction, as frames (satellite-protocol.md §4):
 * additional data its graph groups applied before it, then Begin, migrations it does not have
 * yet, its groups' ops, Commit — relations announced first. Keeps what that depends on per
 * connection: the schema model the client is on, the migration versions it has, the relations
 * announced, and the additional-data refs. Group ops are encoded once per group step and
 * shared (frames_out.ts); a whole frame is shared between clients holding the same groups when
 * nothing in it is theirs alone.
 */
import type { MigrationEntry, SchemaCatalog } from "../../migrations/mod.ts";
import type { Transaction } from "../../replication/mod.ts";
import { findTable, type SchemaModel, type TableModel } from "../../schema/mod.ts";
import type { GroupStep, PlannedGroup } from "../../sync/mod.ts";
import type { Counter } from "../../telemetry/mod.ts";
import type { SharedFrames, TableLookup } from "./frames_out.ts";
import { Announcements } from "./relations_out.ts";
import type { TransactionHeader } from "./wire.ts";

/** A group's step of one transaction. */
export type StepOf = { planned: PlannedGroup; step: GroupStep };

export interface TxWriterOptions {
  dialect: "sqlite" | "postgresql";
  catalog: SchemaCatalog;
  frames: SharedFrames;
  send: (frame: Uint8Array) => void;
  /** Row operations sent live (`electric_rows_sent_total{phase="live"}`). */
  metrics?: { rowsSent: { live: Counter } };
}

export class TransactionWriter {
  readonly #o: TxWriterOptions;
  #model: SchemaModel;
  #announcements = new Announcements();
  #sentVersions = new Set<string>();
  #nextRef = 1n;
  /** `<group key>@<trigger lsn>` → the ref the trigger transaction carried. */
  #refs: Map<string, bigint> | undefined;
  /** The client's groups, as the key of frames it can share. */
  #groupsKey = "";
  #frameKeyOf: { model: SchemaModel; groups: string; key: number } | undefined;

  constructor(options: TxWriterOptions, start: { model: SchemaModel; known: Iterable<string> }) {
    this.#o = options;
    this.#model = start.model;
    for (const version of start.known) this.#sentVersions.add(version);
  }

  /** The client's tables as of the last migration it was sent. */
  readonly lookup: TableLookup = (schema, name) =>
    findTable(this.#model, schema, name) ?? findTable(this.#o.catalog.current(), schema, name);

  /** Whether the client still lacks `version`. */
  lacks(version: string): boolean {
    return !this.#sentVersions.has(version);
  }

  groupsChanged(groups: readonly PlannedGroup[]): void {
    this.#groupsKey = groups.map((g) => g.definition.key).join("\u0001");
  }

  /** SatRelation frames for tables the client has not seen in this layout. */
  relationFrames(tables: readonly TableModel[], into: Uint8Array[]): void {
    this.#announcements.frames(tables, this.#model, into);
  }

  /**
   * The common case, for every client of every transaction: only group changes (no
   * migration, no move-in, no additional data). Builds nothing when another client with the
   * same groups already got this transaction's frame.
   */
  writeChanges(tx: Transaction, steps: StepOf[], force: boolean): boolean {
    let relations: Uint8Array[] | undefined;
    let rows = 0;
    for (let i = 0; i < steps.length; i++) {
      const step = steps[i].step;
      const encoded = this.#o.frames.entries(step, step.changes, this.#model, this.lookup);
      rows += encoded.entries.length;
      if (!this.#announcements.knows(encoded.tables)) {
        this.relationFrames(encoded.tables, relations ??= []);
      }
    }
    if (rows === 0 && !force) return false;
    const key = this.#frameKey();
    let frame = this.#o.frames.cachedFrame(tx, key);
    if (!frame) {
      const body: Uint8Array[] = [];
      for (const { step } of steps) {
        const encoded = this.#o.frames.entries(step, step.changes, this.#model, this.lookup);
        for (const entry of encoded.entries) body.push(entry);
      }
      frame = this.#o.frames.transactionFrame(headerOf(tx), body);
      this.#o.frames.cacheFrame(tx, key, frame);
    }
    if (relations) { for (const relation of relations) this.#o.send(relation); }
    this.#o.send(frame);
    this.#o.metrics?.rowsSent.live.inc(rows);
    return true;
  }

  /**
   * Writes what the client gets of `tx` (or of a migration sent on its own, without `tx`);
   * returns the transaction sent, or undefined when it was empty and not forced.
   */
  write(input: {
    header: Omit<TransactionHeader, "additionalDataRef" | "isMigration">;
    migrations: MigrationEntry[];
    steps: StepOf[];
    tx?: Transaction;
    /** The client's own writes always come back, even when nothing of them is in its shapes. */
    force?: boolean;
  }): { id: bigint; lsn: bigint } | undefined {
    for (const entry of input.migrations) this.#sentVersions.add(entry.version);
    this.#sendAdditional(input.steps);
    const movesIn = input.steps.some((s) => s.step.movesIn);
    const ref = movesIn ? this.#nextRef++ : 0n;
    if (movesIn && input.tx) {
      for (const { planned, step } of input.steps) {
        if (step.movesIn) {
          (this.#refs ??= new Map()).set(`${planned.definition.key}@${input.tx.lsn}`, ref);
        }
      }
    }
    const header: TransactionHeader = {
      ...input.header,
      isMigration: input.migrations.length > 0,
      additionalDataRef: ref,
    };
    const frames: Uint8Array[] = [];
    const body: Uint8Array[] = [];
    for (const entry of input.migrations) {
      body.push(...this.#o.frames.migrationEntries(entry, this.#o.dialect));
      this.#model = entry.model;
      // Tables this migration creates or alters are announced again, in their new layout.
      for (const op of entry.ops[this.#o.dialect]) {
        if (!op.table) continue;
        const table = findTable(entry.model, "public", op.table.name);
        if (!table) continue;
        this.#announcements.forget(table);
        this.relationFrames([table], frames);
      }
    }
    let rows = 0;
    for (const { step } of input.steps) {
      const encoded = this.#o.frames.entries(step, step.changes, this.#model, this.lookup);
      this.relationFrames(encoded.tables, frames);
      body.push(...encoded.entries);
      rows += encoded.entries.length;
    }
    if (body.length === 0 && !input.force) return undefined;
    // The same bytes serve every client holding the same groups when nothing is its own.
    const shareable = input.tx !== undefined && input.migrations.length === 0 && ref === 0n;
    const key = this.#frameKey();
    let frame = shareable ? this.#o.frames.cachedFrame(input.tx!, key) : undefined;
    if (!frame) {
      frame = this.#o.frames.transactionFrame(header, body);
      if (shareable) this.#o.frames.cacheFrame(input.tx!, key, frame);
    }
    frames.push(frame);
    for (const f of frames) this.#o.send(f);
    this.#o.metrics?.rowsSent.live.inc(rows);
    return { id: header.transactionId, lsn: header.lsn };
  }

  /** Move-in rows the client's graph groups applied before this transaction. */
  #sendAdditional(steps: StepOf[]): void {
    for (const { planned, step } of steps) {
      for (const block of step.additional) {
        const id = `${planned.definition.key}@${block.trigger}`;
        // A client that joined after the trigger never saw its ref: any unused one will do.
        const ref = this.#refs?.get(id) ?? this.#nextRef++;
        this.#refs?.delete(id);
        const frames: Uint8Array[] = [];
        const changes = block.rows.map((row) => ({ kind: "insert" as const, ...row }));
        const encoded = this.#o.frames.entries(block, changes, this.#model, this.lookup);
        this.relationFrames(encoded.tables, frames);
        frames.push(...this.#o.frames.additionalFrames(ref, encoded.entries));
        for (const frame of frames) this.#o.send(frame);
        this.#o.metrics?.rowsSent.live.inc(encoded.entries.length);
      }
    }
  }

  /**
   * Clients with equal keys get equal bytes for a transaction (same groups, dialect, model).
   * A small number: it is looked up for every transaction of every client.
   */
  #frameKey(): number {
    const known = this.#frameKeyOf;
    if (known && known.model === this.#model && known.groups === this.#groupsKey) return known.key;
    const text = `${this.#groupsKey}\u0002${this.#o.dialect}\u0002${modelId(this.#model)}`;
    let key = frameKeys.get(text);
    if (key === undefined) {
      // Ids are never reused: forgetting texts (per-user groups pile up) only costs sharing.
      if (frameKeys.size >= MAX_FRAME_KEYS) frameKeys.clear();
      key = nextFrameKey++;
      frameKeys.set(text, key);
    }
    this.#frameKeyOf = { model: this.#model, groups: this.#groupsKey, key };
    return key;
  }
}

/** Begin/commit values of a transaction (the same for every client but the ref). */
export function headerOf(tx: Transaction): TransactionHeader {
  return {
    commitTimestampMs: BigInt(tx.commitTimestamp.getTime()),
    lsn: tx.lsn,
    origin: tx.origin,
    transactionId: BigInt(tx.xid),
    isMigration: false,
    additionalDataRef: 0n,
  };
}

/** Frame keys by their text: few distinct ones (one per distinct group set, dialect, model). */
const frameKeys = new Map<string, number>();
const MAX_FRAME_KEYS = 10_000;
let nextFrameKey = 1;
const modelIds = new WeakMap<SchemaModel, number>();
let nextModelId = 1;

/** A small id per schema model object: frames encoded for one model differ from another's. */
function modelId(model: SchemaModel): number {
  let id = modelIds.get(model);
  if (id === undefined) {
    id = nextModelId++;
    modelIds.set(model, id);
  }
  return id;
}
