/**
 * The Postgres connector: owns the service's own connection pool, brings Postgres to a usable
 * state (server checks, `electric` schema, publication, then whatever later capabilities plug
 * in as steps) and keeps it there, reconnecting with backoff when Postgres goes away.
 *
 * States, as `/api/status` and the WebSocket upgrade report them:
 *   initialization → establishing_repl_conn → subscribing → ready
 * A problem only the user can fix (wal_level, role attributes, server version) stops the
 * connector with a fatal result instead of retrying forever.
 */
import type { DatabaseConfig, WriteMode } from "../config/mod.ts";
import { delay, type Service, withTimeout } from "../lifecycle/mod.ts";
import type { Logger, MetricsRegistry } from "../telemetry/mod.ts";
import { backoffDelayMs } from "./backoff.ts";
import { bootstrapElectricSchema, ensurePublication } from "./bootstrap/mod.ts";
import { resolveDatabaseHost } from "./host.ts";
import { createSqlClient, type Sql } from "./pg_client.ts";
import { classifyPgError, type PgFailure } from "./pg_errors.ts";
import {
  checkServer,
  type PreflightProblem,
  readServerFacts,
  type ServerFacts,
} from "./preflight.ts";

export type ConnectorState = "initialization" | "establishing_repl_conn" | "subscribing" | "ready";

export interface ConnectorStatus {
  readonly state: ConnectorState;
  /** True while the connector is ready and its last health check succeeded. */
  readonly connected: boolean;
  readonly since: Date;
  readonly lastFailure?: PgFailure;
}

/** Something a later capability starts once Postgres is prepared (e.g. the replication stream). */
export interface ConnectorStep {
  readonly name: string;
  /** The state reported while this step runs. */
  readonly state: ConnectorState;
  run(context: StepContext): Promise<StepResource | void>;
}

export interface StepContext {
  readonly sql: Sql;
  readonly facts: ServerFacts;
  readonly signal: AbortSignal;
}

/** A resource a step keeps open; `lost` settles if it dies, which triggers a reconnect. */
export interface StepResource {
  readonly lost?: Promise<unknown>;
  close(): Promise<void>;
}

export type ConnectorFatal =
  | { code: "DATABASE_MISCONFIGURED"; problems: PreflightProblem[] }
  | { code: "HOST_NOT_RESOLVED"; message: string; hint: string };

export interface ConnectorOptions {
  database: DatabaseConfig;
  writeMode: WriteMode;
  logger: Logger;
  steps?: readonly ConnectorStep[];
  /** Called once when the connector gives up for good; the caller decides to exit. */
  onFatal: (fatal: ConnectorFatal) => void;
  /** Called on the first failure of a series (later retries only log a warning). */
  onConnectionError?: (failure: PgFailure) => void;
  /** Between health checks (`SELECT 1` on the pool). Default 500 ms. */
  healthCheckIntervalMs?: number;
  /** A check unanswered this long means the connection is lost. Default 5 s. */
  healthCheckTimeoutMs?: number;
  /** A check unanswered this long reports the connector not ready meanwhile. Default 500 ms. */
  healthCheckLateMs?: number;
  backoff?: (attempt: number) => number;
  /** Registers `electric_postgres_connected`. */
  metrics?: MetricsRegistry;
}

const READY_WAITERS_TIMEOUT = Symbol("timeout");

export class PostgresConnector implements Service {
  readonly name = "postgres connector";
  #options: ConnectorOptions;
  #state: ConnectorState = "initialization";
  #since = new Date();
  #connected = false;
  #lastFailure: PgFailure | undefined;
  #sql: Sql | undefined;
  #readyWaiters = new Set<() => void>();
  #warnedNoDdlGuard = false;
  /** False while a health check has been outstanding for longer than it should take. */
  #reachable = true;

  constructor(options: ConnectorOptions) {
    this.#options = options;
    options.metrics?.gaugeFrom(
      "electric_postgres_connected",
      "1 while the connection to Postgres is ready (as /api/status reports it), 0 otherwise.",
      () => this.status().state === "ready" ? 1 : 0,
    );
  }

  status(): ConnectorStatus {
    return {
      // A ready connector whose health check is late counts as not ready: Postgres may be
      // gone, and /api/status should say so within a second rather than after the timeout.
      state: this.#state === "ready" && !this.#reachable ? "initialization" : this.#state,
      connected: this.#connected,
      since: this.#since,
      lastFailure: this.#lastFailure,
    };
  }

  /** The pool, while the connector is ready. Consumers must not keep it across reconnects. */
  get sql(): Sql | undefined {
    return this.#state === "ready" ? this.#sql : undefined;
  }

  /**
   * The current pool even while later steps still start (e.g. for consumers of the
   * replication stream, which runs before the connector reports ready).
   */
  get pool(): Sql | undefined {
    return this.#sql;
  }

  /** Resolves true once ready, false if `timeoutMs` passes first. */
  async whenReady(timeoutMs: number): Promise<boolean> {
    if (this.#state === "ready") return true;
    let waiter!: () => void;
    const ready = new Promise<true>((resolve) => {
      waiter = () => resolve(true);
      this.#readyWaiters.add(waiter);
    });
    const result = await withTimeout(ready, timeoutMs, READY_WAITERS_TIMEOUT);
    this.#readyWaiters.delete(waiter);
    return result === true;
  }

  async run(signal: AbortSignal): Promise<void> {
    const { logger, database } = this.#options;
    const backoff = this.#options.backoff ?? backoffDelayMs;
    const resolved = await resolveDatabaseHost(database.host, database.useIpv6);
    if (!resolved.ok) {
      this.#options.onFatal(resolved.error);
      return;
    }
    let attempt = 0;
    while (!signal.aborted) {
      this.#setState("initialization");
      const sql = createSqlClient(database, {
        address: resolved.address,
        onNotice: (notice) => logger.debug(`Postgres notice: ${notice.message}`),
      });
      const resources: StepResource[] = [];
      this.#sql = sql;
      const outcome = await this.#initialise(sql, resources, signal);
      if (outcome.kind !== "ready") this.#sql = undefined;
      if (outcome.kind === "fatal") {
        await closeAll(resources, sql);
        this.#options.onFatal(outcome.fatal);
        return;
      }
      if (outcome.kind === "failed") {
        await closeAll(resources, sql);
        if (signal.aborted) break;
        this.#reportFailure(outcome.failure, attempt);
        await delay(backoff(attempt++), signal);
        continue;
      }
      attempt = 0;
      this.#lastFailure = undefined;
      this.#connected = true;
      this.#setState("ready");
      logger.info(`Successfully initialized Postgres connector "postgres_1".`);
      const lost = await this.#monitor(sql, resources, signal);
      this.#connected = false;
      this.#sql = undefined;
      // Not ready from this moment: closing the old resources can take a while.
      this.#setState("initialization");
      this.#reachable = true;
      await closeAll(resources, sql);
      if (lost) {
        this.#lastFailure = lost;
        logger.warning(`Lost the connection to Postgres: ${lost.message}. Reconnecting.`);
      }
    }
    this.#setState("initialization");
  }

  async #initialise(
    sql: Sql,
    resources: StepResource[],
    signal: AbortSignal,
  ): Promise<
    | { kind: "ready" }
    | { kind: "failed"; failure: PgFailure }
    | { kind: "fatal"; fatal: ConnectorFatal }
  > {
    try {
      const facts = await readServerFacts(sql);
      this.#options.logger.info(
        `Connected to Postgres ${facts.serverVersion} (database ${facts.database}, role ${facts.role}); preparing it.`,
      );
      const problems = checkServer(facts, this.#options.writeMode);
      if (problems.length > 0) {
        return { kind: "fatal", fatal: { code: "DATABASE_MISCONFIGURED", problems } };
      }
      const { applied } = await bootstrapElectricSchema(sql, { ddlGuard: facts.superuser });
      if (applied.length > 0) {
        this.#options.logger.info(`Installed the electric schema (steps ${applied.join(", ")}).`);
      }
      if (!facts.superuser && !this.#warnedNoDdlGuard) {
        this.#warnedNoDdlGuard = true;
        this.#options.logger.warning(
          "The Postgres role is not a superuser, so DDL run directly on Postgres against " +
            "electrified tables is neither captured nor checked: apply schema changes to " +
            "electrified tables through the migrations proxy.",
        );
      }
      const publication = await ensurePublication(sql);
      if (publication.created) {
        this.#options.logger.info("Created publication electric_publication.");
      }
      for (const step of this.#options.steps ?? []) {
        if (signal.aborted) break;
        this.#setState(step.state);
        this.#options.logger.info(`Starting the ${step.name}.`);
        const resource = await step.run({ sql, facts, signal });
        if (resource) resources.push(resource);
      }
      return { kind: "ready" };
    } catch (error) {
      return { kind: "failed", failure: this.#classify(error) };
    }
  }

  /** Waits until stopped (returns undefined) or until Postgres or a step resource is lost. */
  async #monitor(
    sql: Sql,
    resources: StepResource[],
    signal: AbortSignal,
  ): Promise<PgFailure | undefined> {
    const interval = this.#options.healthCheckIntervalMs ?? 500;
    const timeout = this.#options.healthCheckTimeoutMs ?? 5_000;
    // A check still unanswered after this marks Postgres unreachable (status 503) without
    // reconnecting yet: a busy server may only be slow, and reconnecting costs the stream.
    const lateAfter = Math.min(this.#options.healthCheckLateMs ?? 500, timeout);
    let resourceLost: PgFailure | undefined;
    let wake!: () => void;
    const woken = new Promise<void>((resolve) => wake = resolve);
    for (const resource of resources) {
      resource.lost?.then(
        () =>
          resourceLost ??= {
            code: "UNKNOWN",
            message: "a replication resource closed",
            transient: true,
          },
        (error) => resourceLost ??= this.#classify(error),
      ).finally(() => wake());
    }
    while (!signal.aborted && !resourceLost) {
      await Promise.race([delay(interval, signal), woken]);
      if (signal.aborted || resourceLost) break;
      const late = setTimeout(() => this.#reachable = false, lateAfter);
      const check = await withTimeout(
        sql`SELECT 1`.then(() => undefined, (error) => this.#classify(error)),
        timeout,
        { code: "TIMEOUT", message: "health check timed out", transient: true } as PgFailure,
      );
      clearTimeout(late);
      if (check) return check;
      this.#reachable = true;
    }
    return resourceLost;
  }

  #classify(error: unknown): PgFailure {
    return classifyPgError(error, { requireSsl: this.#options.database.requireSsl });
  }

  #reportFailure(failure: PgFailure, attempt: number) {
    this.#lastFailure = failure;
    if (attempt === 0) this.#options.onConnectionError?.(failure);
    this.#options.logger.warning(
      `Failed to initialise the Postgres connection (${failure.code}): ${failure.message}. Retrying.`,
    );
  }

  #setState(state: ConnectorState) {
    if (state === this.#state) return;
    this.#state = state;
    this.#since = new Date();
    if (state === "ready") {
      for (const waiter of this.#readyWaiters) waiter();
      this.#readyWaiters.clear();
    }
  }
}

async function closeAll(resources: StepResource[], sql: Sql): Promise<void> {
  for (const resource of resources.reverse()) {
    await resource.close().catch(() => {});
  }
  await sql.end({ timeout: 2 }).catch(() => {});
}
