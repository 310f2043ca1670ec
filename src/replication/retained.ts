/**
 * Re-reading retained WAL (one scan): the main slot is copied to a temporary slot on a
 * connection of its own, the copy is moved in fast-forward mode from the window's start to
 * where the caller wants to read from, and streamed from there until past the position asked
 * for. Nothing is acknowledged; Postgres drops the slot when the connection closes.
 *
 * Why fast-forward first: Postgres must decode the WAL from the window's start either way.
 * Measured on a 1 GB window: decoding it for output (and assembling it here) took 8–12 s,
 * `START_REPLICATION` at the position (the walsender queues and drops what comes before it)
 * 2–3 s, fast-forward about 0.6 s a pass (see `fastForward`). Each scan still pays that,
 * which is why retained_reads.ts makes one scan serve many requests.
 */
import { encodeReplicationMessage, formatLsn } from "../pgwire/mod.ts";
import { ORIGIN, PUBLICATION_NAME } from "../storage/mod.ts";
import type { ConnectReplication } from "./connection.ts";
import type { PrimaryKeyLookup } from "./enrich.ts";
import { ReplicationError } from "./errors.ts";
import { copyToTemporarySlot, fastForward, startReplication } from "./slots.ts";
import { ReplicationStreamSession } from "./stream_session.ts";
import type { ReadResult, RetainedReader } from "./transaction_log.ts";
import type { Transaction } from "./transaction.ts";

export interface RetainedReadOptions {
  connect: ConnectReplication;
  mainSlot: string;
  origin?: string;
  publication?: string;
  /** A scan fails when no WAL arrives for this long. Default 30 s. */
  timeoutMs?: number;
  /** How often to ask the server where it is when no data flows. Default 200 ms. */
  probeIntervalMs?: number;
  primaryKey?: PrimaryKeyLookup;
}

/** What a scan reports to, and asks of, whoever runs it. */
export interface ScanTarget {
  /**
   * The window starts at `windowStart`: where to read from (at or after it; the transactions
   * after that position are delivered), or undefined to read nothing.
   */
  start(windowStart: bigint): bigint | undefined;
  /** Each transaction the stream delivers, in LSN order. */
  transaction(transaction: Transaction): void;
  /** The position to read up to; asked after every message, so it may grow meanwhile. */
  end(): bigint;
}

export type ScanResult =
  | { kind: "ok"; windowStart: bigint; readThrough: bigint }
  | { kind: "behind_window" };

let counter = 0;

/** A second temporary slot name: unique per read, within 63 characters. */
export function retainedSlotName(mainSlot: string): string {
  counter = (counter + 1) % 0x10000;
  return `${mainSlot.slice(0, 55)}_rr${counter.toString(16).padStart(4, "0")}`;
}

/**
 * Streams retained WAL until the session has passed `target.end()`; `readThrough` is the
 * position every transaction up to which was delivered. Behind the window when the main slot
 * is missing (nothing is retained).
 */
export async function scanRetained(
  options: RetainedReadOptions,
  target: ScanTarget,
): Promise<ScanResult> {
  const repl = options.connect();
  try {
    const slot = retainedSlotName(options.mainSlot);
    let windowStart: bigint;
    try {
      windowStart = await copyToTemporarySlot(
        repl,
        { source: options.mainSlot, target: slot },
        { busyTimeoutMs: 0 },
      );
    } catch (error) {
      if (error instanceof ReplicationError && error.code === "SLOT_NOT_FOUND") {
        return { kind: "behind_window" };
      }
      throw error;
    }
    const from = target.start(windowStart);
    if (from === undefined || target.end() <= from) {
      return { kind: "ok", windowStart, readThrough: from ?? windowStart };
    }
    if (from > windowStart) await fastForward(repl, slot, from);
    const stream = await startReplication(repl, {
      slot,
      startLsn: from,
      publication: options.publication ?? PUBLICATION_NAME,
    });
    const session = new ReplicationStreamSession({
      origin: options.origin ?? ORIGIN,
      startLsn: from,
      statusIntervalMs: Number.POSITIVE_INFINITY,
      primaryKey: options.primaryKey,
    });
    const timeoutMs = options.timeoutMs ?? 30_000;
    const readThrough = await new Promise<bigint>((resolve, reject) => {
      let done = false;
      const finish = (error: unknown, lsn?: bigint) => {
        if (done) return;
        done = true;
        clearInterval(probe);
        clearTimeout(stall);
        stream.off("data", onData);
        if (error === undefined) {
          stream.end();
          resolve(lsn!);
        } else {
          stream.destroy();
          reject(error);
        }
      };
      // Asking for a reply makes the server send a keepalive with its position right away.
      const probe = setInterval(() => {
        if (stream.destroyed || !stream.writable) return;
        const status = session.confirm(from, Date.now());
        stream.write(encodeReplicationMessage({ ...status, replyRequested: true }));
      }, options.probeIntervalMs ?? 200);
      const stalled = () =>
        finish(
          new ReplicationError(
            "RETAINED_READ_TIMEOUT",
            `Reading retained WAL up to "${formatLsn(target.end())}" made no progress ` +
              `in ${timeoutMs} ms`,
          ),
        );
      let stall = setTimeout(stalled, timeoutMs);
      const onData = (chunk: Uint8Array) => {
        try {
          const before = session.pendingLsn;
          const out = session.receive(chunk, Date.now());
          // Progress: data ('w' XLogData), or a keepalive from further on in the WAL.
          if (chunk[0] === 0x77 || session.pendingLsn > before) {
            clearTimeout(stall);
            stall = setTimeout(stalled, timeoutMs);
          }
          if (out.error) throw new ReplicationError(out.error.code, out.error.message);
          for (const { transaction } of out.transactions) target.transaction(transaction);
          if (!session.inTransaction && session.pendingLsn >= target.end()) {
            finish(undefined, session.pendingLsn);
          }
        } catch (error) {
          finish(error);
        }
      };
      stream.on("data", onData);
      stream.on("error", (error) => finish(error));
      const ended = () =>
        finish(new ReplicationError("STREAM_LOST", "The retained WAL stream ended"));
      stream.once("end", ended);
      stream.once("close", ended);
    });
    return { kind: "ok", windowStart, readThrough };
  } finally {
    await repl.end({ timeout: 0 }).catch(() => {});
  }
}

/** Transactions with `fromLsn < lsn <= toLsn`, or behind_window if WAL no longer has them. */
export async function readRetained(
  options: RetainedReadOptions,
  range: { fromLsn: bigint; toLsn: bigint },
): Promise<ReadResult> {
  const transactions: Transaction[] = [];
  let behind = false;
  const result = await scanRetained(options, {
    // The slot delivers only transactions after its position.
    start: (windowStart) => {
      behind = range.fromLsn < windowStart;
      return behind ? undefined : range.fromLsn;
    },
    transaction: (tx) => {
      if (tx.lsn > range.fromLsn && tx.lsn <= range.toLsn) transactions.push(tx);
    },
    end: () => range.toLsn,
  });
  if (result.kind === "behind_window" || behind) return { kind: "behind_window" };
  return { kind: "ok", transactions };
}

/** `readRetained` in the shape `TransactionLog.onRetainedRead` takes (one scan per call). */
export function retainedReader(options: RetainedReadOptions): RetainedReader {
  return (fromLsn, toLsn) => readRetained(options, { fromLsn, toLsn });
}
