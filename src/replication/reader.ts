/**
 * The replication reader (transport layer of pgoutput in): opens the replication connection,
 * ensures the main slot, copies it to the temporary slot, streams from it, and hands the
 * session's transactions to the transaction log, persisting and acknowledging positions.
 *
 * Order per batch (what makes a restart lose nothing): append to the log (listeners run),
 * persist the processed LSN in `electric.replication_positions`, then acknowledge it. On the
 * next start the whole retained WAL is re-read; transactions at or before the persisted LSN
 * are appended as replays. A crash between appending and persisting hands that one batch on
 * again as new, so consumers that act on new transactions keep their effects idempotent
 * (migrations compare versions).
 */
import { encodeReplicationMessage, formatLsn, type StandbyStatusUpdate } from "../pgwire/mod.ts";
import type { Service } from "../lifecycle/mod.ts";
import {
  mainSlotName,
  ORIGIN,
  PUBLICATION_NAME,
  type Sql,
  temporarySlotName,
} from "../storage/mod.ts";
import type { Logger } from "../telemetry/mod.ts";
import type { ConnectReplication } from "./connection.ts";
import type { PrimaryKeyLookup } from "./enrich.ts";
import { ReplicationError } from "./errors.ts";
import {
  type CopyBothStream,
  copyToTemporarySlot,
  createMainSlot,
  readProcessedLsn,
  startReplication,
  writeProcessedLsn,
} from "./slots.ts";
import { type EmittedTransaction, ReplicationStreamSession } from "./stream_session.ts";
import type { TransactionLog } from "./transaction_log.ts";

export interface ReplicationReaderOptions {
  /** Opens a `replication=database` connection (see `replicationConnectionFrom`). */
  connect: ConnectReplication;
  /** An ordinary pool, for the persisted position. */
  sql: Sql;
  /** The database name; slot names derive from it. */
  database: string;
  log: TransactionLog;
  logger: Logger;
  origin?: string;
  publication?: string;
  /** Default 10 s (Postgres's own receivers use the same). */
  statusIntervalMs?: number;
  /** How long to wait for a temporary slot another session still holds. Default 5 s. */
  slotBusyTimeoutMs?: number;
  /** Largest number of transactions handed on before positions are persisted. */
  maxBatch?: number;
  primaryKey?: PrimaryKeyLookup;
}

/** A running stream. `lost` settles when it ends for any reason other than `close()`. */
export interface ReplicationStreamHandle {
  readonly startLsn: bigint;
  /** Persisted by the previous run; transactions at or before it are replays. */
  readonly replayedThrough: bigint | undefined;
  readonly lost: Promise<void>;
  close(): Promise<void>;
}

export class ReplicationReader implements Service {
  readonly name = "replication reader";
  readonly mainSlot: string;
  readonly temporarySlot: string;
  #options: ReplicationReaderOptions;
  #persisted: bigint | undefined;

  constructor(options: ReplicationReaderOptions) {
    this.#options = options;
    this.mainSlot = mainSlotName(options.database);
    this.temporarySlot = temporarySlotName(options.database);
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
      this.#persisted = await readProcessedLsn(o.sql, this.mainSlot);
      const { created } = await createMainSlot(repl, this.mainSlot);
      if (created) logger.info(`Created replication slot "${this.mainSlot}".`);
      const startLsn = await copyToTemporarySlot(
        repl,
        { source: this.mainSlot, target: this.temporarySlot },
        { busyTimeoutMs: o.slotBusyTimeoutMs ?? 5_000, signal },
      );
      const stream = await startReplication(repl, {
        slot: this.temporarySlot,
        startLsn,
        publication: o.publication ?? PUBLICATION_NAME,
      });
      logger.info(
        `Started replication from slot "${this.temporarySlot}" at "${formatLsn(startLsn)}".`,
      );
      o.log.markStart(startLsn);
      return this.#stream(repl, stream, startLsn);
    } catch (error) {
      await repl.end({ timeout: 0 }).catch(() => {});
      throw error;
    }
  }

  #stream(repl: Sql, stream: CopyBothStream, startLsn: bigint): ReplicationStreamHandle {
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
    let stopping = false;
    const write = (status: StandbyStatusUpdate) => {
      if (!stream.destroyed && stream.writable) stream.write(encodeReplicationMessage(status));
    };
    const timer = setInterval(() => {
      const status = session.tick(Date.now());
      if (status) write(status);
    }, Math.max(50, Math.floor((o.statusIntervalMs ?? 10_000) / 2)));
    stream.on("error", () => {}); // surfaced through the pump below

    const pump = this.#pump(stream, session, write).then(
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
      close: () =>
        closing ??= (async () => {
          stopping = true;
          clearInterval(timer);
          if (!stream.destroyed) {
            const closed = new Promise<void>((resolve) => stream.once("close", resolve));
            stream.end();
            await Promise.race([closed, new Promise((r) => setTimeout(r, 1_000))]);
          }
          await pump.catch(() => {});
          await repl.end({ timeout: 1 }).catch(() => {});
        })(),
    };
  }

  /**
   * Feeds the stream to the session until it ends (resolves) or fails (rejects). Data events
   * rather than async iteration: a chunk is one WAL message, and a promise per message costs
   * more than decoding it. The stream is paused while a batch is handed on.
   */
  #pump(
    stream: CopyBothStream,
    session: ReplicationStreamSession,
    write: (status: StandbyStatusUpdate) => void,
  ): Promise<void> {
    const maxBatch = this.#options.maxBatch ?? 1_000;
    const batch: EmittedTransaction[] = [];
    return new Promise<void>((resolve, reject) => {
      let failed = false;
      const fail = (error: unknown) => {
        if (failed) return;
        failed = true;
        stream.off("data", onData);
        reject(error);
      };
      const onData = (chunk: Uint8Array) => {
        try {
          const out = session.receive(chunk, Date.now());
          if (out.error) throw new ReplicationError(out.error.code, out.error.message);
          for (const transaction of out.transactions) batch.push(transaction);
          for (const reply of out.replies) write(reply);
          const drained = stream.readableLength === 0;
          if ((drained && !session.inTransaction) || batch.length >= maxBatch) {
            stream.pause();
            this.#flush(batch.splice(0), session, write).then(() => {
              if (!failed) stream.resume();
            }, fail);
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

  async #flush(
    batch: EmittedTransaction[],
    session: ReplicationStreamSession,
    write: (status: StandbyStatusUpdate) => void,
  ): Promise<void> {
    const { log, sql } = this.#options;
    for (const { transaction, replayed } of batch) log.append(transaction, { replayed });
    const lsn = session.pendingLsn;
    if (lsn <= session.confirmedLsn && batch.length === 0) return;
    if (this.#persisted === undefined || lsn > this.#persisted) {
      await writeProcessedLsn(sql, this.mainSlot, lsn);
      this.#persisted = lsn;
    }
    write(session.confirm(lsn, Date.now()));
  }
}
