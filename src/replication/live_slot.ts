/**
 * Where the live stream reads from, and from which position (restart and catch-up).
 *
 * Two persistent slots per service:
 * - the main slot (`electric_replication_out_<db>`) is never acknowledged; it pins the
 *   resumable WAL window for retained reads (retained.ts) and WalWindow moves it (§7.6);
 * - the live slot (liveSlotName) is acknowledged up to a little behind the persisted processed
 *   position (LIVE_REPLAY_BYTES: recent history comes back into the cache as replays) and
 *   streamed from at every start, so a restart reads on from there and new commits flow at
 *   once, however much WAL the window holds.
 *
 * Why not stream a temporary copy of the main slot from the persisted position (one slot
 * fewer)? `START_REPLICATION … LOGICAL <lsn>` does skip the commits before `<lsn>`, but the
 * walsender still decodes everything from the copy's restart point, queueing the changes of
 * every skipped transaction. Measured with 1 GB of WAL behind: 2–3 s before a new commit
 * arrives, on every start (re-reading the window into the log, as before: 15 s). A slot
 * that is acknowledged keeps its restart point near the processed position, so there is
 * little to decode; restart_point.ts sees to it that this holds under heavy writes too.
 *
 * A missing live slot (first start, upgrade, or dropped by hand) is made as a copy of the
 * main slot, whose position is never past the persisted one (WalWindow guarantees it), then
 * moved to the persisted position in fast-forward mode (`fastForward`; 1.2 s for 1 GB): no
 * transaction between that position and now is skipped, none before it is handed on again.
 *
 * One instance per database: a live slot another session streams from is `object_in_use`, and
 * while the reference service's temporary slot (`…_rc`) exists a reference instance is
 * connected; both are waited for up to the busy timeout, then ANOTHER_INSTANCE_CONNECTED.
 */
import { formatLsn } from "../pgwire/mod.ts";
import type { Sql } from "../storage/mod.ts";
import type { Logger } from "../telemetry/mod.ts";
import { ReplicationError, SQLSTATE, sqlState } from "./errors.ts";
import { pullRestartPoint } from "./restart_point.ts";
import {
  type CopyBothStream,
  copySlot,
  fastForward,
  readSlot,
  SLOT_BUSY,
  startReplication,
  whileSlotBusy,
} from "./slots.ts";

/**
 * At most this much WAL, and this many bytes of transactions, is acknowledged behind the
 * persisted position on the live slot, and so streamed again at a start (as replays: into the
 * transaction cache, new to no consumer; replay_window.ts picks the position). Clients resume
 * from positions this recent (their streams keep them so: satellite's keep-alive), and are then
 * served from the cache instead of a read of the retained window, which would first have to
 * skip through all of it.
 */
export const LIVE_REPLAY_BYTES = 8n * 1024n * 1024n;

/** The position to acknowledge on the live slot once `persisted` is stored. */
export function liveAckLsn(persisted: bigint, replay = LIVE_REPLAY_BYTES): bigint {
  return persisted > replay ? persisted - replay : 0n;
}

/**
 * Where the live stream starts: the slot's position, which is normally `LIVE_REPLAY_BYTES`
 * behind the persisted one; a slot further behind (a copy of the main slot, an old slot) is
 * moved up to that distance first.
 */
export function liveStartLsn(inputs: {
  persisted: bigint | undefined;
  slotConfirmed: bigint;
  replay?: bigint;
}): { startLsn: bigint; advance: boolean } {
  const { persisted, slotConfirmed } = inputs;
  if (persisted === undefined) return { startLsn: slotConfirmed, advance: false };
  const wanted = liveAckLsn(persisted, inputs.replay);
  if (wanted <= slotConfirmed) return { startLsn: slotConfirmed, advance: false };
  return { startLsn: wanted, advance: true };
}

export interface LiveStreamOptions {
  /** The replication connection the stream runs on. */
  repl: Sql;
  /** An ordinary pool, for slot state and the fast-forward. */
  sql: Sql;
  slots: { main: string; live: string; reference: string };
  /** The persisted processed position, if any. */
  persisted: bigint | undefined;
  /** WAL streamed again behind it at a start (default LIVE_REPLAY_BYTES). */
  replay?: bigint;
  publication: string;
  busyTimeoutMs: number;
  signal?: AbortSignal;
  logger: Logger;
}

export interface LiveStream {
  stream: CopyBothStream;
  startLsn: bigint;
}

/** Ensures the live slot, moves it to the persisted position and starts streaming from it. */
export async function openLiveStream(o: LiveStreamOptions): Promise<LiveStream> {
  const { main, live, reference } = o.slots;
  if (await createLiveSlot(o.repl, main, live)) {
    o.logger.info(`Created replication slot "${live}" as a copy of "${main}".`);
  }
  return await whileSlotBusy(live, async () => {
    // A temporary slot exists only while its session lives.
    if (await readSlot(o.sql, reference)) return SLOT_BUSY;
    const slot = await readSlot(o.sql, live);
    if (slot?.confirmedFlushLsn === undefined) {
      // Dropped between the copy and here: the connector's next attempt copies it again.
      throw new ReplicationError("SLOT_NOT_FOUND", `Replication slot "${live}" does not exist`);
    }
    const { startLsn, advance } = liveStartLsn({
      persisted: o.persisted,
      slotConfirmed: slot.confirmedFlushLsn,
      replay: o.replay,
    });
    if (o.persisted !== undefined && o.persisted < slot.confirmedFlushLsn) {
      o.logger.warning(
        `Replication slot "${live}" is at "${formatLsn(slot.confirmedFlushLsn)}", past the ` +
          `persisted position "${formatLsn(o.persisted)}": streaming from the slot.`,
      );
    }
    if (advance) {
      const started = Date.now();
      await fastForward(o.sql, live, startLsn);
      const ms = Date.now() - started;
      if (ms > 1_000) {
        o.logger.info(`Moved slot "${live}" to "${formatLsn(startLsn)}" in ${ms} ms.`);
      }
    } else {
      await pullRestartPoint(o.sql, live, { logger: o.logger });
    }
    const stream = await startReplication(o.repl, {
      slot: live,
      startLsn,
      publication: o.publication,
    });
    return { stream, startLsn };
  }, { busyTimeoutMs: o.busyTimeoutMs, signal: o.signal });
}

/** Copies the main slot to the live slot when the latter is missing; true if it did. */
async function createLiveSlot(repl: Sql, main: string, live: string): Promise<boolean> {
  try {
    await copySlot(repl, { source: main, target: live }, { temporary: false });
    return true;
  } catch (error) {
    if (sqlState(error) === SQLSTATE.duplicateObject) return false;
    throw error;
  }
}
