/**
 * The frames of a client's out-of-band units, each written at its insertion point: the data of
 * a new subscription (satellite-protocol.md §7.3), a GONE batch after an unsubscribe (§7.6),
 * and the transaction that brings a resumed client's rows of rejoined groups up to date
 * (inserts for rows to refresh, `gone` for rows it no longer holds; §7.7).
 */
import type { GoneRow, TransitionData } from "../../sync/mod.ts";
import type { TableModel } from "../../schema/mod.ts";
import type { Counter } from "../../telemetry/mod.ts";
import { ORIGIN } from "../../storage/mod.ts";
import { opLogFramesFromEntries } from "../serialization/mod.ts";
import {
  goneBatchFrames,
  ROWS_PER_FRAME,
  type SharedFrames,
  subscriptionDataFrames,
  type TableLookup,
} from "./frames_out.ts";
import type { TransactionHeader } from "./wire.ts";
import type { Progress } from "../../telemetry/mod.ts";

/** What writing a unit needs of the client's stream. */
export interface UnitOutput {
  frames: SharedFrames;
  lookup: TableLookup;
  /** Position of the last transaction sent: the unit's LSN. */
  lastSentLsn: bigint;
  relationFrames(tables: readonly TableModel[], into: Uint8Array[]): void;
  send(frame: Uint8Array): void;
  /** Counts the row operations of the unit (`electric_rows_sent_total`). */
  rows: Counter;
  /** Resolves once no more than `bytes` wait to be written to the client. */
  drained(bytes: number): Promise<void>;
  aborted(): boolean;
}

/**
 * Most subscription data waiting to be written to one client before reading more from
 * Postgres: a slow client then costs the server this much, not its whole initial sync.
 */
const SEND_HIGH_WATER = 1 << 20;

/**
 * Subscription data. Rows read while they are sent go out batch by batch; the stream waits
 * here meanwhile, so nothing else is written in between and the delivery stays one unit.
 */
export async function sendSubscriptionData(
  out: UnitOutput,
  subscription: { id: string; requestIds: readonly string[] },
  data: TransitionData,
  progress?: Progress,
): Promise<void> {
  const first = out.frames.insertEntries(data.inserts, out.lookup);
  const frames: Uint8Array[] = [];
  const tables = [...first.tables];
  for (const stream of data.streams) {
    const table = out.lookup(stream.table.schema, stream.table.name);
    if (table) tables.push(table);
  }
  out.relationFrames(tables, frames);
  // Begin, the first request's pair around every row, the other requests' empty pairs, end.
  const [begin, firstPair, ...rest] = subscriptionDataFrames(subscription, out.lastSentLsn, []);
  frames.push(begin, firstPair, ...opLogFramesFromEntries(first.entries, ROWS_PER_FRAME));
  for (const frame of frames) out.send(frame);
  out.rows.inc(first.entries.length);
  progress?.add(data.inserts.length);
  for (const stream of data.streams) {
    // The client's model of the table: query rows have the stream table's columns, in order.
    const table = out.lookup(stream.table.schema, stream.table.name);
    for await (const batch of stream.batches) {
      if (out.aborted()) return;
      if (!table) continue;
      for (const frame of out.frames.rawInsertFrames(table, stream.table, batch)) out.send(frame);
      out.rows.inc(batch.rows.length);
      progress?.add(batch.rows.length);
      await out.drained(SEND_HIGH_WATER);
    }
  }
  for (const frame of rest) out.send(frame);
  progress?.done();
}

export function goneBatchUnit(
  out: UnitOutput,
  subscriptionIds: readonly string[],
  data: { gones: readonly GoneRow[] },
): Uint8Array[] {
  const encoded = out.frames.goneEntries(data.gones, out.lookup);
  const frames: Uint8Array[] = [];
  out.relationFrames(encoded.tables, frames);
  frames.push(...goneBatchFrames(subscriptionIds, out.lastSentLsn, encoded.entries));
  return frames;
}

/** The refresh transaction of a resume, or undefined when nothing changed. */
export function refreshTransaction(
  out: UnitOutput,
  data: TransitionData,
  transactionId: bigint,
): { frames: Uint8Array[]; header: TransactionHeader } | undefined {
  if (data.inserts.length === 0 && data.gones.length === 0) return undefined;
  const inserts = out.frames.insertEntries(data.inserts, out.lookup);
  const gones = out.frames.goneEntries(data.gones, out.lookup);
  const frames: Uint8Array[] = [];
  out.relationFrames([...inserts.tables, ...gones.tables], frames);
  const header: TransactionHeader = {
    commitTimestampMs: BigInt(Date.now()),
    lsn: out.lastSentLsn,
    origin: ORIGIN,
    transactionId,
    isMigration: false,
  };
  frames.push(out.frames.transactionFrame(header, [...inserts.entries, ...gones.entries]));
  out.rows.inc(inserts.entries.length + gones.entries.length);
  return { frames, header };
}
