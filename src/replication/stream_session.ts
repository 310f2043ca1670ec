/**
 * The session layer of the replication stream: a state machine fed with CopyData payloads
 * and told when the transport has handed transactions on. It decides what is a replay, what
 * position may be acknowledged, and when to send StandbyStatusUpdate; the reader (transport)
 * only moves bytes, appends to the log and persists positions.
 *
 * Positions:
 * - pending: how far the stream has been consumed: the end LSN of the last transaction
 *   emitted, or a keepalive's WAL end received between transactions (everything before it
 *   has been sent, and empty stretches of WAL must not hold the slot back).
 * - confirmed: what the transport reported handed on and persisted; the only position ever
 *   acknowledged, so Postgres never discards what a crash could lose.
 */
import {
  dateToPgTimestamp,
  decodePgoutput,
  decodeReplicationMessage,
  maxLsn,
  type StandbyStatusUpdate,
  standbyStatusUpdate,
  xlogDataPayload,
} from "../pgwire/mod.ts";
import { TransactionAssembler } from "./assembler.ts";
import type { PrimaryKeyLookup } from "./enrich.ts";
import type { Transaction } from "./transaction.ts";

export interface StreamSessionOptions {
  origin: string;
  /** The slot position streaming starts from: the first acknowledgement. */
  startLsn: bigint;
  /** Persisted by the previous run: transactions at or before it were handed on already. */
  replayedThrough?: bigint;
  /** How often to report the position when nothing else does. */
  statusIntervalMs: number;
  onWarning?: (message: string) => void;
  primaryKey?: PrimaryKeyLookup;
}

export interface EmittedTransaction {
  transaction: Transaction;
  replayed: boolean;
}

export interface SessionOutput {
  transactions: EmittedTransaction[];
  /** To write back on the stream at once. */
  replies: StandbyStatusUpdate[];
  error?: { code: "DECODE_FAILED" | "PROTOCOL_VIOLATION"; message: string };
}

export class ReplicationStreamSession {
  #options: StreamSessionOptions;
  #assembler: TransactionAssembler;
  #pending: bigint;
  #confirmed: bigint;
  #lastStatusAt = -Infinity;
  /** The server's end of WAL, as last reported (keepalives, and commits' XLogData). */
  #serverWalEnd = 0n;

  constructor(options: StreamSessionOptions) {
    this.#options = options;
    this.#assembler = new TransactionAssembler(options);
    this.#pending = options.startLsn;
    this.#confirmed = options.startLsn;
  }

  /** How far the stream has been consumed (may be confirmed once handed on). */
  get pendingLsn(): bigint {
    return this.#pending;
  }

  get confirmedLsn(): bigint {
    return this.#confirmed;
  }

  /** Where Postgres's WAL ended when it last said (0 before it did); for the lag metric. */
  get serverWalEnd(): bigint {
    return this.#serverWalEnd;
  }

  get inTransaction(): boolean {
    return this.#assembler.inTransaction;
  }

  receive(payload: Uint8Array, now: number): SessionOutput {
    const out: SessionOutput = { transactions: [], replies: [] };
    const data = xlogDataPayload(payload);
    if (data) {
      this.#data(data, out);
      // Read once per transaction (at its commit), not per message: it only feeds a metric.
      if (out.transactions.length > 0) this.#noteWalEnd(payload);
      return out;
    }
    const decoded = decodeReplicationMessage(payload);
    if (!decoded.ok) {
      out.error = { code: "DECODE_FAILED", message: decoded.error.message };
      return out;
    }
    const message = decoded.message;
    if (message.tag === "primary_keepalive") {
      if (message.walEnd > this.#serverWalEnd) this.#serverWalEnd = message.walEnd;
      if (!this.#assembler.inTransaction) {
        this.#pending = maxLsn(this.#pending, message.walEnd)!;
      }
      if (message.replyRequested) out.replies.push(this.#status(now));
      return out;
    }
    if (message.tag !== "xlog_data") {
      out.error = {
        code: "PROTOCOL_VIOLATION",
        message: `Unexpected "${message.tag}" from server`,
      };
      return out;
    }
    this.#data(message.data, out);
    return out;
  }

  /** XLogData: 'w', WAL start (8 bytes), WAL end (8 bytes), send time, data. */
  #noteWalEnd(payload: Uint8Array): void {
    const walEnd = new DataView(payload.buffer, payload.byteOffset + 9, 8).getBigUint64(0);
    if (walEnd > this.#serverWalEnd) this.#serverWalEnd = walEnd;
  }

  /** One pgoutput message into the transaction being assembled. */
  #data(data: Uint8Array, out: SessionOutput): void {
    const pgoutput = decodePgoutput(data, { skip: this.#assembler.skip });
    if (!pgoutput.ok) {
      out.error = { code: "DECODE_FAILED", message: pgoutput.error.message };
      return;
    }
    const result = this.#assembler.push(pgoutput.message);
    if (result.kind === "error") {
      out.error = { code: "PROTOCOL_VIOLATION", message: result.message };
    } else if (result.kind === "transaction") {
      const { transaction } = result;
      this.#pending = maxLsn(this.#pending, transaction.lsn)!;
      const through = this.#options.replayedThrough;
      out.transactions.push({
        transaction,
        replayed: through !== undefined && transaction.lsn <= through,
      });
    }
  }

  /** The transport handed on (and persisted) everything up to `lsn`: acknowledge it. */
  confirm(lsn: bigint, now: number): StandbyStatusUpdate {
    this.#confirmed = maxLsn(this.#confirmed, lsn)!;
    return this.#status(now);
  }

  /** A periodic status update, when one is due. */
  tick(now: number): StandbyStatusUpdate | undefined {
    if (now - this.#lastStatusAt < this.#options.statusIntervalMs) return undefined;
    return this.#status(now);
  }

  #status(now: number): StandbyStatusUpdate {
    this.#lastStatusAt = now;
    return standbyStatusUpdate(this.#confirmed, { clientTime: dateToPgTimestamp(new Date(now)) });
  }
}
