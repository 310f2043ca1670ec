/**
 * Re-reading retained WAL: when a consumer asks for transactions older than the cache but
 * still pinned by the main slot, the main slot is copied to a second temporary slot and
 * streamed from until the requested end. Nothing is acknowledged; Postgres drops the slot
 * when the connection closes. Served through `TransactionLog.onRetainedRead`.
 */
import { encodeReplicationMessage, formatLsn } from "../pgwire/mod.ts";
import { ORIGIN, PUBLICATION_NAME } from "../storage/mod.ts";
import type { ConnectReplication } from "./connection.ts";
import type { PrimaryKeyLookup } from "./enrich.ts";
import { ReplicationError } from "./errors.ts";
import { copyToTemporarySlot, startReplication } from "./slots.ts";
import { ReplicationStreamSession } from "./stream_session.ts";
import type { ReadResult, RetainedReader } from "./transaction_log.ts";
import type { Transaction } from "./transaction.ts";

export interface RetainedReadOptions {
  connect: ConnectReplication;
  mainSlot: string;
  origin?: string;
  publication?: string;
  /** Default 30 s. */
  timeoutMs?: number;
  /** How often to ask the server where it is when no data flows. Default 200 ms. */
  probeIntervalMs?: number;
  primaryKey?: PrimaryKeyLookup;
}

let counter = 0;

/** A second temporary slot name: unique per read, within 63 characters. */
export function retainedSlotName(mainSlot: string): string {
  counter = (counter + 1) % 0x10000;
  return `${mainSlot.slice(0, 55)}_rr${counter.toString(16).padStart(4, "0")}`;
}

/** Transactions with `fromLsn < lsn <= toLsn`, or behind_window if WAL no longer has them. */
export async function readRetained(
  options: RetainedReadOptions,
  range: { fromLsn: bigint; toLsn: bigint },
): Promise<ReadResult> {
  const repl = options.connect();
  const timeoutMs = options.timeoutMs ?? 30_000;
  try {
    const slot = retainedSlotName(options.mainSlot);
    let startLsn: bigint;
    try {
      startLsn = await copyToTemporarySlot(repl, { source: options.mainSlot, target: slot }, {
        busyTimeoutMs: 0,
      });
    } catch (error) {
      // Without the main slot nothing is retained.
      if (error instanceof ReplicationError && error.code === "SLOT_NOT_FOUND") {
        return { kind: "behind_window" };
      }
      throw error;
    }
    // The slot delivers only transactions after its position.
    if (range.fromLsn < startLsn) return { kind: "behind_window" };
    if (range.toLsn <= range.fromLsn) return { kind: "ok", transactions: [] };
    const stream = await startReplication(repl, {
      slot,
      startLsn,
      publication: options.publication ?? PUBLICATION_NAME,
    });
    const session = new ReplicationStreamSession({
      origin: options.origin ?? ORIGIN,
      startLsn,
      statusIntervalMs: Number.POSITIVE_INFINITY,
      primaryKey: options.primaryKey,
    });
    const transactions: Transaction[] = [];
    // Asking for a reply makes the server send a keepalive with its WAL end right away.
    const probe = setInterval(() => {
      if (stream.destroyed || !stream.writable) return;
      const status = session.confirm(startLsn, Date.now());
      stream.write(encodeReplicationMessage({ ...status, replyRequested: true }));
    }, options.probeIntervalMs ?? 200);
    let timedOut = false;
    const deadline = setTimeout(() => {
      timedOut = true;
      stream.destroy();
    }, timeoutMs);
    try {
      for await (const chunk of stream) {
        const out = session.receive(chunk, Date.now());
        if (out.error) throw new ReplicationError(out.error.code, out.error.message);
        for (const { transaction } of out.transactions) {
          if (transaction.lsn > range.fromLsn && transaction.lsn <= range.toLsn) {
            transactions.push(transaction);
          }
        }
        if (session.pendingLsn >= range.toLsn) {
          stream.end();
          return { kind: "ok", transactions };
        }
      }
    } catch (error) {
      if (!timedOut) throw error;
    } finally {
      clearInterval(probe);
      clearTimeout(deadline);
    }
    if (!timedOut) throw new ReplicationError("STREAM_LOST", "The retained WAL stream ended");
    throw new ReplicationError(
      "RETAINED_READ_TIMEOUT",
      `Reading retained WAL up to "${formatLsn(range.toLsn)}" did not finish in ${timeoutMs} ms`,
    );
  } finally {
    await repl.end({ timeout: 0 }).catch(() => {});
  }
}

/** `readRetained` in the shape `TransactionLog.onRetainedRead` takes. */
export function retainedReader(options: RetainedReadOptions): RetainedReader {
  return (fromLsn, toLsn) => readRetained(options, { fromLsn, toLsn });
}
