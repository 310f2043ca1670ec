/**
 * The replication side of an authenticated Satellite connection: the client's
 * `startReplication` (fresh or resuming), its stream, subscriptions and acknowledgements, and
 * the client → server direction the write path attaches to. The connection (connection.ts)
 * owns the socket, authentication and frame dispatch and hands it requests in order.
 */
import { create } from "@bufbuild/protobuf";
import {
  SatInStartReplicationReq_Dialect,
  SatInStartReplicationReqSchema,
  SatInStartReplicationResp_ReplicationError_Code as ReplicationErrorCode,
  SatInStartReplicationRespSchema,
  SatInStopReplicationRespSchema,
  type SatOpLog,
  type SatOpLogAck,
  type SatRelation,
  type SatRpcRequest,
  type SatRpcResponse,
  SatSubsDataError_Code,
  SatSubsDataErrorSchema,
} from "../../gen/mod.ts";
import type { MigrationEntry, SchemaCatalog } from "../../migrations/mod.ts";
import { withTimeout } from "../../lifecycle/mod.ts";
import { encodeFrame } from "../codec/mod.ts";
import { ClientShapes } from "./client_shapes.ts";
import { FULL_ACCESS, loadAccess, type UserAccess, watchAccess } from "./read_access.ts";
import { subscribe, unsubscribe } from "./subscription_rpc.ts";
import { ClientStream, UNACKED_WINDOW } from "./client_stream.ts";
import type { ConnectionDeps, InboundHandler } from "./deps.ts";
import { CLOSE, requestPayload, type SessionIo } from "./session_io.ts";
import type { SessionView } from "./metrics.ts";
import {
  freshStart,
  resumeStart,
  type StartOutcome,
  type StreamStart,
} from "./replication_start.ts";
import {
  errorFrame,
  lsnFromBytes,
  rpcErrorFrame,
  rpcRequestFrame,
  rpcResponseFrame,
  SatErrorResp_ErrorCode as ErrorCode,
} from "./wire.ts";

export { CLOSE, requestPayload, type SessionIo };

/**
 * How long opening a client's uploads waits for its writes from earlier connections; a writer
 * that never settles one must not keep the client from writing for good.
 */
const SETTLE_MS = 10_000;

export class ReplicationSession implements SessionView {
  readonly #deps: ConnectionDeps;
  readonly #io: SessionIo;
  readonly #clientId: string;
  readonly #userId: string;
  #outbound: ClientStream | undefined;
  #starting = false;
  #shapes: ClientShapes | undefined;
  #serverRequestId = 0;
  #inbound: InboundHandler | undefined;
  #inboundActive = false;
  /** Stops following the user's access. */
  #stopWatching: (() => void) | undefined;
  /** What the user may read and write now; writes are checked against it as they arrive. */
  #access: UserAccess = FULL_ACCESS;

  constructor(deps: ConnectionDeps, io: SessionIo, client: { clientId: string; userId: string }) {
    this.#deps = deps;
    this.#io = io;
    this.#clientId = client.clientId;
    this.#userId = client.userId;
    deps.metrics.track(this);
  }

  get subscriptionCount(): number {
    return this.#shapes?.count ?? 0;
  }

  get streamPosition(): bigint | undefined {
    return this.#outbound?.position;
  }

  teardown(): void {
    this.#deps.metrics.untrack(this);
    this.#stopWatching?.();
    this.#outbound?.stop();
    this.#inbound?.close();
  }

  /** An RPC request other than authenticate; false when the method is unknown. */
  async request(request: SatRpcRequest): Promise<boolean> {
    switch (request.method) {
      case "startReplication":
        await this.#startReplication(request);
        return true;
      case "stopReplication":
        this.#outbound?.stop();
        this.#outbound = undefined;
        this.#io.send(
          rpcResponseFrame(
            request,
            SatInStopReplicationRespSchema,
            create(SatInStopReplicationRespSchema, {}),
          ),
        );
        return true;
      case "subscribe":
        await this.#subscribe(request);
        return true;
      case "unsubscribe":
        this.#unsubscribe(request);
        return true;
    }
    return false;
  }

  /** The client's answer to the server's startReplication request. */
  response(response: SatRpcResponse): void {
    if (response.method !== "startReplication" || !this.#inbound) return;
    if (response.result.case === "message") {
      this.#inboundActive = true;
      return;
    }
    this.#io.fail(ErrorCode.INVALID_REQUEST, "The client refused to start replication");
  }

  /** An acknowledgement that names no subscription, additional data or GONE batch. */
  plainAck(transactionId: bigint): void {
    if (!this.#outbound || !this.#outbound.ack(transactionId)) {
      this.#io.fail(ErrorCode.INVALID_REQUEST, "Acknowledged unknown txn");
    }
  }

  async ack(ack: SatOpLogAck): Promise<void> {
    if (!this.#outbound || !this.#outbound.ack(ack.transactionId)) {
      this.#io.fail(ErrorCode.INVALID_REQUEST, "Acknowledged unknown txn");
      return;
    }
    // The client applied these GONE batches: nothing can name those subscriptions again.
    if (ack.goneSubscriptionIds.length > 0) {
      await this.#deps.store.removeSubscriptions(this.#clientId, ack.goneSubscriptionIds)
        .catch((error) =>
          this.#io.logger.warning(`Could not forget subscriptions: ${(error as Error).message}`)
        );
    }
  }

  relation(message: SatRelation): void {
    this.#inbound?.relation(message);
  }

  async opLog(message: SatOpLog): Promise<void> {
    // Client writes are accepted only after the client answered our startReplication.
    if (!this.#inbound || !this.#inboundActive) return;
    const problem = await this.#inbound.opLog(message);
    if (problem) {
      this.#io.logger.warning(`Refused a client transaction: ${problem.message}`);
      this.#io.send(errorFrame(problem.code, problem.message, problem.lsn));
      this.#io.close(CLOSE.invalid, problem.message.slice(0, 120));
    }
  }

  /**
   * Opens the client → server direction by asking the client to start its replication after
   * the last of its writes Postgres holds, once none of its earlier writes is still on its way.
   */
  async #startInbound(): Promise<void> {
    const factory = this.#deps.inbound;
    if (!factory) return;
    const clients = this.#deps.clients;
    const settled = await withTimeout(clients.writesSettled(this.#clientId), SETTLE_MS, false);
    if (settled === false) {
      this.#io.logger.warning(
        `Earlier writes of the client are not settled after ${SETTLE_MS} ms; asking for its ` +
          "writes after the last one Postgres holds now",
      );
    }
    const sql = this.#deps.pool();
    if (!sql) throw new Error("Postgres is not connected");
    const lsn = await clients.appliedClientLsn(sql, this.#clientId);
    if (this.#io.isClosed()) return;
    this.#inbound = factory({
      clientId: this.#clientId,
      userId: this.#userId,
      logger: this.#io.logger,
      fail: (problem) => {
        this.#io.logger.warning(problem.message);
        this.#io.send(errorFrame(problem.code, problem.message, problem.lsn));
        this.#io.close(CLOSE.invalid, problem.message.slice(0, 120));
      },
      track: (write) => clients.track(this.#clientId, write),
      refusal: (writes) => this.#access.refusal(writes),
    });
    this.#io.send(rpcRequestFrame(
      "startReplication",
      this.#serverRequestId++,
      SatInStartReplicationReqSchema,
      create(SatInStartReplicationReqSchema, { lsn }),
    ));
  }

  async #startReplication(request: SatRpcRequest): Promise<void> {
    const req = requestPayload(this.#io, request, SatInStartReplicationReqSchema);
    if (!req) return;
    const replicationError = (code: ReplicationErrorCode, message: string) => {
      this.#io.send(
        rpcResponseFrame(
          request,
          SatInStartReplicationRespSchema,
          create(SatInStartReplicationRespSchema, {
            err: { code, message },
          }),
        ),
      );
      this.#io.logger.info(`Refused to start replication: ${message}`);
      this.#io.close(CLOSE.invalid, message);
    };
    if (this.#outbound || this.#starting) {
      this.#io.send(
        rpcErrorFrame(request, ErrorCode.INVALID_REQUEST, "Replication is already started"),
      );
      this.#io.close(CLOSE.invalid, "Replication is already started");
      return;
    }
    this.#starting = true;
    const catalog = await this.#deps.catalogs.wait(2_000);
    if (!catalog) {
      this.#io.send(rpcErrorFrame(request, ErrorCode.INTERNAL, "The schema is not loaded yet"));
      this.#io.close(CLOSE.internal, "Schema not loaded");
      return;
    }
    const clientId = this.#clientId;
    if (
      req.schemaVersion !== undefined && req.schemaVersion !== "" && !catalog.has(req.schemaVersion)
    ) {
      return replicationError(
        ReplicationErrorCode.UNKNOWN_SCHEMA_VSN,
        `Unknown schema version: ${req.schemaVersion}`,
      );
    }
    const dialect = req.sqlDialect === SatInStartReplicationReq_Dialect.POSTGRES
      ? "postgresql"
      : "sqlite";
    let access: UserAccess;
    try {
      access = await loadAccess(this.#deps.permissions, this.#userId, catalog.current(), {
        warn: (message) => this.#io.logger.warning(message),
        pool: this.#deps.pool,
      });
    } catch (error) {
      const message = `Could not read the permissions: ${(error as Error).message}`;
      this.#io.logger.warning(message);
      this.#io.send(rpcErrorFrame(request, ErrorCode.INTERNAL, "Permissions not available"));
      this.#io.close(CLOSE.internal, "Permissions not available");
      return;
    }
    if (this.#io.isClosed()) return;
    this.#access = access;
    this.#shapes = new ClientShapes(this.#userId, this.#deps.hub, access.read);
    this.#stopWatching?.();
    this.#stopWatching = watchAccess(this.#deps, this.#userId, {
      shapes: () => this.#shapes,
      stream: () => this.#outbound,
      changed: (access) => this.#access = access,
    }, this.#io.logger);
    const context = {
      clientId,
      log: this.#deps.log,
      catalog,
      store: this.#deps.store,
      hub: this.#deps.hub,
      pool: this.#deps.pool,
      shapes: this.#shapes,
    };
    let outcome: StartOutcome;
    if (req.lsn.length === 0) {
      if (req.subscriptionIds.length > 0) {
        return replicationError(
          ReplicationErrorCode.INVALID_POSITION,
          "Cannot resume subscriptions for a first-time client",
        );
      }
      outcome = await freshStart(context, req.schemaVersion || undefined);
    } else {
      const lsn = lsnFromBytes(req.lsn);
      if (lsn === undefined) {
        return replicationError(
          ReplicationErrorCode.MALFORMED_LSN,
          "Could not validate start replication request",
        );
      }
      outcome = await resumeStart(context, lsn, req.subscriptionIds);
    }
    if (!outcome.ok) {
      if (outcome.code === ReplicationErrorCode.BEHIND_WINDOW) {
        await this.#deps.store.forget(clientId);
      }
      return replicationError(outcome.code, outcome.message);
    }
    this.#respondStarted(request);
    this.#begin(catalog, dialect, outcome.start, outcome.migrations);
    if (outcome.rejoin) {
      const outbound = this.#outbound as ClientStream | undefined;
      if (outbound) outbound.enqueue(outcome.rejoin);
      else outcome.rejoin.transition.release();
    }
  }

  #respondStarted(request: SatRpcRequest): void {
    this.#io.send(
      rpcResponseFrame(
        request,
        SatInStartReplicationRespSchema,
        create(SatInStartReplicationRespSchema, {
          unackedWindowSize: UNACKED_WINDOW,
        }),
      ),
    );
  }

  #begin(
    catalog: SchemaCatalog,
    dialect: "sqlite" | "postgresql",
    start: StreamStart,
    migrations: MigrationEntry[],
  ): void {
    if (this.#io.isClosed()) return;
    const clientId = this.#clientId;
    const outbound = new ClientStream({
      clientId,
      dialect,
      log: this.#deps.log,
      catalog,
      frames: this.#deps.frames,
      logger: this.#io.logger,
      send: (frame) => this.#io.send(frame),
      sendInitial: (frame) => this.#io.send(frame, "initial"),
      metrics: this.#deps.metrics,
      drained: (bytes) => this.#io.drained(bytes),
      fail: (reason, message) => {
        this.#io.logger.warning(message);
        this.#io.fail(
          ErrorCode.REPLICATION_FAILED,
          message,
          reason === "internal" ? CLOSE.internal : CLOSE.invalid,
        );
      },
      subscriptionFailed: (subscriptionId, error) => {
        this.#io.logger.warning(
          `Could not read the data of subscription ${subscriptionId}: ${error.message}`,
        );
        this.#io.send(encodeFrame(create(SatSubsDataErrorSchema, {
          code: SatSubsDataError_Code.SHAPE_DELIVERY_ERROR,
          message: "Could not read the subscription data",
          subscriptionId,
        })));
        void this.#deps.store.removeSubscriptions(clientId, [subscriptionId]).catch(() => {});
      },
      acknowledged: (lsn) => this.#deps.store.acknowledge(clientId, lsn),
    }, start);
    this.#outbound = outbound;
    this.#starting = false;
    outbound.sendInitialMigrations(migrations);
    void outbound.run();
    // Only now ask the client to upload: a refused start closes the socket, and a request
    // left for the client to answer on a closed socket makes it throw.
    if (!this.#inbound) {
      // Without it the client would stay connected and never upload: it reconnects instead.
      this.#startInbound().catch((error) => {
        const message = `Could not start client replication: ${(error as Error).message}`;
        this.#io.logger.warning(message);
        this.#io.close(CLOSE.normal, message.slice(0, 120));
      });
    }
  }

  async #subscribe(request: SatRpcRequest): Promise<void> {
    const catalog = this.#deps.catalogs.get();
    await subscribe(request, {
      deps: this.#deps,
      io: this.#io,
      clientId: this.#clientId,
      catalog,
      stream: this.#outbound,
      shapes: this.#shapes,
    });
  }

  #unsubscribe(request: SatRpcRequest): void {
    unsubscribe(request, {
      deps: this.#deps,
      io: this.#io,
      clientId: this.#clientId,
      catalog: this.#deps.catalogs.get(),
      stream: this.#outbound,
      shapes: this.#shapes,
    });
  }
}
