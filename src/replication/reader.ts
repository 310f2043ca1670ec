/**
 * The replication reader (transport layer of pgoutput in): opens the replication connection,
 * ensures the main slot, opens the live stream (live_slot.ts: the acknowledged slot, started
 * at the persisted processed position) and hands the session's transactions to the log.
 *
 * Order (what makes a crash lose nothing): each transaction is appended to the log as it
 * completes (listeners run); the position handed on is offered to the PositionWriter, which
 * persists it coalesced (a few writes a second at most); only a persisted position is
 * acknowledged to Postgres. After a restart the live slot streams every transaction after the
 * persisted position again: those a crash handed on but did not persist come once more, as
 * new, so consumers that act on new transactions keep their effects idempotent (migrations
 * compare versions). Older transactions are not re-read at startup: the log reaches them
 * through retained reads when a consumer asks (retained_reads.ts).
 */
import {
  encodeReplicationMessage,
  formatLsn,
  parseLsn,
  type StandbyStatusUpdate,
} from "../pgwire/mod.ts";
import { type Service, withTimeout } from "../lifecycle/mod.ts";
import {
  type InstanceNames,
  instanceNames,
  ORIGIN,
  PUBLICATION_NAME,
  type Sql,
} from "../storage/mod.ts";
import { type Logger, Progress } from "../telemetry/mod.ts";
import type { ConnectReplication } from "./connection.ts";
import type { PrimaryKeyLookup } from "./enrich.ts";
import { ReplicationError } from "./errors.ts";
import { LIVE_REPLAY_BYTES, openLiveStream } from "./live_slot.ts";
import { PositionWriter } from "./positions.ts";
import { LsnWaiters } from "./lsn_waiters.ts";
import { ReplayWindow } from "./replay_window.ts";
import { RestartPointMarks } from "./restart_point.ts";
import {
  type CopyBothStream,
  copyMainSlot,
  createMainSlot,
  oldestPeerMainSlot,
  type PersistedPosition,
  readPersistedPosition,
  writeProcessedLsn,
} from "./slots.ts";
import { ReplicationStreamSession } from "./stream_session.ts";
import type { TransactionLog } from "./transaction_log.ts";

export interface ReplicationReaderOptions {
  /** Opens a `replication=database` connection (see `replicationConnectionFrom`). */
  connect: ConnectReplication;
  /** An ordinary pool, for the persisted position and slot state. */
  sql: Sql;
  /** The database name; slot names derive from it unless `names` are given. */
  database: string;
  /** The instance's slot names (default: those of an instance without ELECTRIC_INSTANCE_ID). */
  names?: InstanceNames;
  log: TransactionLog;
  logger: Logger;
  origin?: string;
  publication?: string;
  /** Default 10 s (Postgres's own receivers use the same). */
  statusIntervalMs?: number;
  /** How long to wait for a live slot another session still holds. Default 5 s. */
  slotBusyTimeoutMs?: number;
  /** At most one write of the processed position per interval. Default 500 ms. */
  persistIntervalMs?: number;
  /**
   * WAL behind the persisted position the live slot is acknowledged at, so that a start hands
   * it on again as replays (the cache then serves clients resuming from there). Default
   * LIVE_REPLAY_BYTES; 0 hands on only what is after the persisted position.
   */
  replayBytes?: bigint;
  /**
   * Resolves once consumers with durable effects are done with everything appended so far;
   * awaited before each position write (see positions.ts).
   */
  settled?: () => Promise<void>;
  primaryKey?: PrimaryKeyLookup;
  /** Counts each transaction received from Postgres (`electric_transactions_received_total`). */
  received?: { inc(): void };
}

/** A running stream. `lost` settles when it ends for any reason other than `close()`. */
export interface ReplicationStreamHandle {
  readonly startLsn: bigint;
  /** Persisted by the previous run; transactions at or before it are replays. */
  readonly replayedThrough: bigint | undefined;
  readonly lost: Promise<void>;
  /**
   * Ends the stream. By default the position handed on is persisted and acknowledged first;
   * `{ persist: false }` leaves it as a crash would (tests).
   */
  close(options?: { persist?: boolean }): Promise<void>;
}

/**
 * Where the log's coverage starts: the stream hands on every transaction after `startLsn`,
 * and when the slot was acknowledged past the newest transaction of the previous run (there
 * was nothing to replay), none lies in between, so coverage reaches back to that transaction.
 * Clients resuming from it are served from the cache.
 */
export function coverageStart(startLsn: bigint, persisted: PersistedPosition | undefined): bigint {
  const last = persisted?.lastTransaction;
  if (last === undefined || last >= startLsn || startLsn > persisted!.processed) return startLsn;
  return last;
}

/** What the pump feeds from one stream. */
interface PumpParts {
  /** The newest transaction handed on so far (the previous run's, at first). */
  lastTransaction: bigint | undefined;
  stream: CopyBothStream;
  session: ReplicationStreamSession;
  positions: PositionWriter;
  replay: ReplayWindow;
  progress: LsnWaiters;
  write: (status: StandbyStatusUpdate) => void;
  handingOn: () => boolean;
  catchUp: CatchUp | undefined;
}

/** Where Postgres' WAL was when streaming started: what a restart has to catch up on. */
interface CatchUp {
  target: bigint;
  progress: Progress;
}

function mebibytes(bytes: bigint): string {
  return (Number(bytes) / (1024 * 1024)).toFixed(1);
}

/** Below this much WAL to catch up on, a start says nothing about it. */
const CATCH_UP_NOTE_BYTES = 16n * 1024n * 1024n;

/** How long a graceful close waits for each of: the restart record, the stream to reach it. */
const CLOSE_MARK_MS = 1_000;

export class ReplicationReader implements Service {
  readonly name = "replication reader";
  readonly mainSlot: string;
  readonly liveSlot: string;
  readonly names: InstanceNames;
  #options: ReplicationReaderOptions;
  #persisted: bigint | undefined;
  /** The session of the stream open now, for its positions. */
  #session: ReplicationStreamSession | undefined;

  constructor(options: ReplicationReaderOptions) {
    this.#options = options;
    this.names = options.names ?? instanceNames(options.database);
    this.mainSlot = this.names.mainSlot;
    this.liveSlot = this.names.liveSlot;
  }

  /**
   * Where Postgres's WAL ends as it last reported, and how far this reader has consumed the
   * stream; undefined before the stream is open or before Postgres reported its position.
   */
  walPositions(): { serverWalEnd: bigint; consumed: bigint } | undefined {
    const session = this.#session;
    if (!session || session.serverWalEnd === 0n) return undefined;
    return { serverWalEnd: session.serverWalEnd, consumed: session.pendingLsn };
  }

  /** The processed LSN last persisted (this run or the previous one). */
  get processedLsn(): bigint | undefined {
    return this.#persisted;
  }

  async run(signal: AbortSignal): Promise<void> {
    const handle = await this.start(signal);
    const aborted = new Promise<void>((resolve) => {
      if (signal.aborted) resolve();
      signal.addEventListener("abort", () => resolve(), { once: true });
    });
    try {
      await Promise.race([handle.lost, aborted]);
    } finally {
      await handle.close();
    }
  }

  /** Connects and starts streaming; resolves once the stream is open. */
  async start(signal?: AbortSignal): Promise<ReplicationStreamHandle> {
    const o = this.#options;
    const logger = o.logger;
    const repl = o.connect();
    try {
      // Keyed by the main slot's name, as before the live slot existed.
      const position = await readPersistedPosition(o.sql, this.mainSlot);
      this.#persisted = position?.processed;
      await this.#ensureMainSlot(repl);
      const { stream, startLsn } = await openLiveStream({
        repl,
        sql: o.sql,
        slots: {
          main: this.mainSlot,
          live: this.liveSlot,
          reference: this.names.temporarySlot,
        },
        persisted: this.#persisted,
        replay: o.replayBytes,
        publication: o.publication ?? PUBLICATION_NAME,
        busyTimeoutMs: o.slotBusyTimeoutMs ?? 5_000,
        signal,
        logger,
      });
      logger.info(
        `Started replication from slot "${this.liveSlot}" at "${formatLsn(startLsn)}".`,
      );
      o.log.markStart(coverageStart(startLsn, position));
      const catchUp = await this.#catchUp(startLsn);
      return this.#stream(repl, stream, startLsn, position?.lastTransaction, catchUp);
    } catch (error) {
      await repl.end({ timeout: 0 }).catch(() => {});
      throw error;
    }
  }

  /**
   * The main slot keeps the window clients resume from. A new one starts as a copy of the
   * main slot of another instance on this database (the one reaching back furthest), so its
   * window is theirs: a client moving here from another instance is not reset for being older
   * than this instance. Without such a peer it starts now.
   */
  async #ensureMainSlot(repl: Sql): Promise<void> {
    const { sql, logger } = this.#options;
    const [existing] = await sql`
      SELECT 1 FROM pg_replication_slots WHERE slot_name = ${this.mainSlot}`;
    if (existing) return;
    const peer = await oldestPeerMainSlot(sql, this.mainSlot).catch(() => undefined);
    if (peer !== undefined) {
      const copied = await copyMainSlot(repl, { peer, slot: this.mainSlot });
      if (copied.kind === "copied") {
        logger.info(
          `Created replication slot "${this.mainSlot}" as a copy of "${peer}" (another ` +
            `instance's): its window starts at ${formatLsn(copied.from)}, as theirs does.`,
        );
      }
      if (copied.kind !== "peer_gone") return;
    }
    const { created } = await createMainSlot(repl, this.mainSlot);
    if (created) logger.info(`Created replication slot "${this.mainSlot}".`);
  }

  /**
   * After a restart the stream first replays what was committed while the service was away;
   * when that is a lot, say so, and report progress while it is read.
   */
  async #catchUp(startLsn: bigint): Promise<CatchUp | undefined> {
    const logger = this.#options.logger;
    let target: bigint | undefined;
    try {
      const [row] = await this.#options.sql<{ lsn: string }[]>`
        SELECT pg_current_wal_lsn()::text AS lsn`;
      target = parseLsn(row.lsn);
    } catch {
      return undefined; // only a progress report is lost
    }
    if (target === undefined || target - startLsn < CATCH_UP_NOTE_BYTES) return undefined;
    logger.info(
      `Catching up on ${mebibytes(target - startLsn)} MiB of WAL, from ${formatLsn(startLsn)} to ${
        formatLsn(target)
      }.`,
    );
    return { target, progress: new Progress(logger, "Catching up", "transactions") };
  }

  #stream(
    repl: Sql,
    stream: CopyBothStream,
    startLsn: bigint,
    lastTransaction: bigint | undefined,
    catchUp?: CatchUp,
  ): ReplicationStreamHandle {
    const o = this.#options;
    const replayedThrough = this.#persisted;
    const session = new ReplicationStreamSession({
      origin: o.origin ?? ORIGIN,
      startLsn,
      replayedThrough,
      statusIntervalMs: o.statusIntervalMs ?? 10_000,
      onWarning: (message) => o.logger.warning(message),
      primaryKey: o.primaryKey,
    });
    this.#session = session;
    let stopping = false;
    // Cleared on close: what still arrives is dropped (it comes again on the next start), but
    // keeps flowing, so the stream can reach its end.
    let handingOn = true;
    const write = (status: StandbyStatusUpdate) => {
      if (!stream.destroyed && stream.writable) stream.write(encodeReplicationMessage(status));
    };
    let failWriter: (error: unknown) => void = () => {};
    const writerFailed = new Promise<never>((_, reject) => failWriter = reject);
    const replay = new ReplayWindow({
      budget: o.replayBytes ?? LIVE_REPLAY_BYTES,
      acked: startLsn,
    });
    const marks = new RestartPointMarks({
      sql: o.sql,
      markSlot: this.names.markSlot,
      logger: o.logger,
    });
    const positions = new PositionWriter({
      intervalMs: o.persistIntervalMs ?? 500,
      persisted: this.#persisted,
      settled: o.settled,
      write: (lsn, last) => writeProcessedLsn(o.sql, this.mainSlot, lsn, last),
      onPersisted: (lsn) => {
        this.#persisted = lsn;
        write(session.confirm(replay.ackFor(lsn), Date.now()));
        marks.offer(lsn);
      },
      onError: (error) => failWriter(error),
    });
    const timer = setInterval(() => {
      const status = session.tick(Date.now());
      if (status) write(status);
    }, Math.max(50, Math.floor((o.statusIntervalMs ?? 10_000) / 2)));
    stream.on("error", () => {}); // surfaced through the pump below

    const progress = new LsnWaiters();
    const pump = Promise.race([
      this.#pump({
        lastTransaction,
        stream,
        session,
        positions,
        replay,
        progress,
        write,
        handingOn: () => handingOn,
        catchUp,
      }),
      writerFailed,
    ]).then(
      () => {
        if (!stopping) {
          throw new ReplicationError("STREAM_LOST", "The replication stream ended");
        }
      },
      (error) => {
        if (stopping) return;
        if (error instanceof ReplicationError) throw error;
        throw new ReplicationError(
          "STREAM_LOST",
          `The replication stream failed: ${(error as Error)?.message ?? error}`,
          { cause: error },
        );
      },
    ).finally(() => clearInterval(timer));
    pump.catch(() => {}); // `lost` is for whoever listens; never an unhandled rejection

    let closing: Promise<void> | undefined;
    return {
      startLsn,
      replayedThrough,
      lost: pump,
      close: (options) =>
        closing ??= (async () => {
          const persist = options?.persist ?? true;
          if (persist && !stopping) {
            // A record the slot confirms before the stream ends: the next start decodes from
            // here instead of from wherever the last one left the restart point.
            const at = await withTimeout(marks.markNow(), CLOSE_MARK_MS, undefined);
            if (at !== undefined) await progress.wait(at, CLOSE_MARK_MS);
          }
          stopping = true;
          clearInterval(timer);
          handingOn = false;
          // Handed on but not yet persisted: persist and acknowledge it before leaving (not
          // waiting long for a database that is gone: the next start streams it again).
          const flushed = positions.stop({ flush: persist }).then(
            () => true,
            (error) => {
              o.logger.warning(
                `Could not persist the replication position: ${(error as Error)?.message}`,
              );
              return true;
            },
          );
          if (!await withTimeout(flushed, 2_000, false)) {
            o.logger.warning("Persisting the replication position timed out.");
          }
          if (!stream.destroyed) {
            const closed = new Promise<void>((resolve) => stream.once("close", resolve));
            stream.end();
            await Promise.race([closed, new Promise((r) => setTimeout(r, 1_000))]);
            if (!stream.destroyed) stream.destroy(); // the server did not end it in time
          }
          await pump.catch(() => {});
          await marks.stop();
          await repl.end({ timeout: 1 }).catch(() => {});
        })(),
    };
  }

  /**
   * Feeds the stream to the session until it ends (resolves) or fails (rejects), appending
   * each transaction as it completes. Data events rather than async iteration: a chunk is one
   * WAL message, and a promise per message costs more than decoding it.
   */
  #pump(parts: PumpParts): Promise<void> {
    const { stream, session, positions, replay, progress, write, handingOn } = parts;
    const log = this.#options.log;
    const received = this.#options.received;
    let lastTransaction = parts.lastTransaction;
    let catchUp = parts.catchUp;
    return new Promise<void>((resolve, reject) => {
      let failed = false;
      const fail = (error: unknown) => {
        if (failed) return;
        failed = true;
        stream.off("data", onData);
        reject(error);
      };
      const onData = (chunk: Uint8Array) => {
        if (!handingOn()) return;
        try {
          const out = session.receive(chunk, Date.now());
          if (out.error) throw new ReplicationError(out.error.code, out.error.message);
          for (const { transaction, replayed } of out.transactions) {
            log.append(transaction, { replayed });
            received?.inc();
            replay.add(transaction.lsn, transaction.byteSize);
            lastTransaction = transaction.lsn;
          }
          if (catchUp && out.transactions.length > 0) {
            const at = lastTransaction!;
            if (at >= catchUp.target) {
              catchUp.progress.done("caught up");
              catchUp = undefined;
            } else {
              catchUp.progress.add(
                out.transactions.length,
                `at ${formatLsn(at)}, ${mebibytes(catchUp.target - at)} MiB to go`,
              );
            }
          }
          for (const reply of out.replies) write(reply);
          if (!session.inTransaction) {
            positions.offer(session.pendingLsn, lastTransaction);
            progress.reached(session.pendingLsn);
          }
        } catch (error) {
          fail(error);
        }
      };
      stream.on("data", onData);
      stream.once("error", fail);
      stream.once("end", () => !failed && resolve());
      stream.once("close", () => !failed && resolve());
    });
  }
}
