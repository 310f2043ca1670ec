/**
 * What the Satellite side counts, registered once when the handler is built and then only
 * added to: per frame a byte count, per transaction a row count and one comparison. The
 * gauges that follow from existing state (authenticated clients, subscriptions, lag in bytes)
 * are read when a snapshot is taken, by walking the connected sessions.
 *
 * Phases: `initial` is what snapshot reads produce — subscription data (and the relations
 * announced with it) and the refresh transaction of a resumed client; `live` is everything
 * else: transactions, move-ins, GONE batches, RPC answers.
 */
import type { TransactionLog } from "../../replication/mod.ts";
import type { Counter, Gauge, Histogram, MetricsRegistry } from "../../telemetry/mod.ts";

export type Phase = "initial" | "live";

/** What a connected session shows of itself when a snapshot is taken. */
export interface SessionView {
  /** The client's subscriptions now. */
  readonly subscriptionCount: number;
  /** LSN of the last transaction the client's stream handled; undefined before it started. */
  readonly streamPosition: bigint | undefined;
}

/** Where Postgres's WAL ends and how far the replication reader consumed it. */
export type WalPositions = () => { serverWalEnd: bigint; consumed: bigint } | undefined;

export interface SatelliteMetricsOptions {
  log: Pick<TransactionLog, "lastLsn">;
  /** Authenticated clients, one per client id (the client registry's live connections). */
  authenticated: () => number;
  /** Absent: the lag in bytes reads 0. */
  wal?: WalPositions;
}

/** Handover delays are bucketed from 5 ms to 5 minutes. */
const LAG_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

export class SatelliteMetrics {
  readonly clientsConnected: Gauge;
  readonly rowsSent: Readonly<Record<Phase, Counter>>;
  readonly bytesSent: Readonly<Record<Phase, Counter>>;
  readonly transactionsSent: Counter;
  readonly clientTransactionsApplied: Counter;
  readonly clientTransactionsRefused: Counter;
  readonly #lagSeconds: Gauge;
  readonly #handover: Histogram;
  /** The newest transaction handed to any client: lag is measured once per transaction. */
  #handedLsn = -1n;
  readonly #sessions = new Set<SessionView>();
  readonly #o: SatelliteMetricsOptions;

  constructor(registry: MetricsRegistry, options: SatelliteMetricsOptions) {
    this.#o = options;
    this.clientsConnected = registry.gauge(
      "electric_clients_connected",
      "Open Satellite WebSocket connections.",
    );
    registry.gaugeFrom(
      "electric_clients_authenticated",
      "Authenticated Satellite clients (one per client id).",
      options.authenticated,
    );
    registry.gaugeFrom(
      "electric_subscriptions",
      "Active shape subscriptions of connected clients.",
      () => {
        let count = 0;
        for (const session of this.#sessions) count += session.subscriptionCount;
        return count;
      },
    );
    const rows =
      "Row operations sent to clients (initial: subscription data and resume refreshes).";
    const bytes = "Bytes of Satellite frames sent to clients.";
    this.rowsSent = {
      initial: registry.counter("electric_rows_sent_total", rows, { phase: "initial" }),
      live: registry.counter("electric_rows_sent_total", rows, { phase: "live" }),
    };
    this.bytesSent = {
      initial: registry.counter("electric_bytes_sent_total", bytes, { phase: "initial" }),
      live: registry.counter("electric_bytes_sent_total", bytes, { phase: "live" }),
    };
    this.transactionsSent = registry.counter(
      "electric_transactions_sent_total",
      "Transactions sent to client connections (one per client that received it).",
    );
    this.clientTransactionsApplied = registry.counter(
      "electric_client_transactions_applied_total",
      "Transactions from clients written to Postgres.",
    );
    this.clientTransactionsRefused = registry.counter(
      "electric_client_transactions_refused_total",
      "Transactions from clients refused (invalid, not permitted, or refused by Postgres).",
    );
    registry.gaugeFrom(
      "electric_replication_lag_bytes",
      "WAL between where Postgres is and what the slowest connected client was handed, in bytes.",
      () => this.lagBytes(),
    );
    this.#lagSeconds = registry.gauge(
      "electric_replication_lag_seconds",
      "Commit to handover of the newest transaction handed to clients, in seconds.",
    );
    this.#handover = registry.histogram(
      "electric_replication_handover_seconds",
      "Commit to first handover to a client, per transaction, in seconds.",
      LAG_BUCKETS,
    );
  }

  /** A session started (authenticated); it is read at each snapshot until it ends. */
  track(session: SessionView): void {
    this.#sessions.add(session);
  }

  untrack(session: SessionView): void {
    this.#sessions.delete(session);
  }

  /** A client stream handled `tx` (sent or not): measures the lag at its first handover. */
  handedOver(tx: { lsn: bigint; commitTimestamp: Date }): void {
    if (tx.lsn <= this.#handedLsn) return;
    this.#handedLsn = tx.lsn;
    const seconds = Math.max(0, Date.now() - tx.commitTimestamp.getTime()) / 1000;
    this.#lagSeconds.set(seconds);
    this.#handover.observe(seconds);
  }

  /**
   * Postgres's WAL end minus what was handed on: the slowest client's position, or, when
   * every client has every transaction of the log (or none is connected), how far the
   * reader consumed the stream.
   */
  lagBytes(): number {
    const wal = this.#o.wal?.();
    if (!wal) return 0;
    const last = this.#o.log.lastLsn();
    let handed = wal.consumed;
    for (const session of this.#sessions) {
      const position = session.streamPosition;
      if (position === undefined || last === undefined || position >= last) continue;
      if (position < handed) handed = position;
    }
    return wal.serverWalEnd > handed ? Number(wal.serverWalEnd - handed) : 0;
  }
}
