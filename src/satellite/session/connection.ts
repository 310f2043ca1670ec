/**
 * One Satellite connection (satellite-protocol.md §3): authentication, the client's
 * `startReplication` (fresh or resuming), subscriptions, acknowledgements, and the hooks the
 * write path attaches to. Frames come in through `receive`; frames go out through the socket.
 *
 * Flow on a connection:
 *   authenticate → [server startReplication → client answer → client SatOpLog …]
 *   client startReplication → migrations, relations, transactions …
 *   subscribe → response, later the data at its insertion point; unsubscribe → GONE batch
 */
import { create, fromBinary } from "@bufbuild/protobuf";
import type { Authenticator } from "../../auth/mod.ts";
import {
  SatAuthReqSchema,
  SatAuthRespSchema,
  SatInStartReplicationReq_Dialect,
  SatInStartReplicationReqSchema,
  SatInStartReplicationResp_ReplicationError_Code as ReplicationErrorCode,
  SatInStartReplicationRespSchema,
  SatInStopReplicationRespSchema,
  type SatOpLog,
  type SatRelation,
  type SatRpcRequest,
  type SatRpcResponse,
  SatSubsDataError_Code,
  SatSubsDataErrorSchema,
  SatSubsReqSchema,
  SatSubsResp_SatSubsError_Code,
  SatSubsResp_SatSubsError_ShapeReqError_Code,
  SatSubsRespSchema,
  SatUnsubsReqSchema,
  SatUnsubsRespSchema,
} from "../../gen/mod.ts";
import type { CatalogHolder, MigrationEntry, SchemaCatalog } from "../../migrations/mod.ts";
import type { TransactionLog } from "../../replication/mod.ts";
import { planSubscription, type SubscriptionInput } from "../../shapes/mod.ts";
import type { Sql } from "../../storage/mod.ts";
import { type ClientStore, type ShapeHub, startTransition } from "../../sync/mod.ts";
import type { Logger } from "../../telemetry/mod.ts";
import { decodeFrame, encodeFrame } from "../codec/mod.ts";
import { ClientShapes } from "./client_shapes.ts";
import { ClientStream, UNACKED_WINDOW } from "./client_stream.ts";
import type { ClientRegistry } from "./clients.ts";
import type { SharedFrames } from "./frames_out.ts";
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

/** Close codes: runtimes only accept 1000 and 3000–4999; the client reads only the reason. */
export const CLOSE = {
  normal: 1000,
  expired: 4000,
  invalid: 4007,
  internal: 4011,
} as const;

export interface SocketLike {
  send(frame: Uint8Array): void;
  close(code: number, reason: string): void;
}

/** What the write path provides once a client is authenticated (issue: writes in). */
export interface InboundHandler {
  /** The client's relation announcements (its own ids and column order). */
  relation(message: SatRelation): void;
  /** A SatOpLog from the client; resolves with an error to send and close on, if any. */
  opLog(
    message: SatOpLog,
  ): Promise<{ code: ErrorCode; message: string; lsn?: Uint8Array } | undefined>;
  close(): void;
}

export interface ConnectionDeps {
  logger: Logger;
  instanceId: string;
  authenticator: Authenticator;
  catalogs: CatalogHolder;
  log: TransactionLog;
  pool: () => Sql | undefined;
  clients: ClientRegistry;
  /** Shape groups shared by every connection. */
  hub: ShapeHub;
  /** Subscriptions and acknowledged positions per client id. */
  store: ClientStore;
  /** Encoders and byte caches shared by every connection. */
  frames: SharedFrames;
  /** Creates the write-path handler of an authenticated client; absent: writes are not accepted. */
  inbound?: (client: {
    clientId: string;
    userId: string;
    logger: Logger;
    fail: (problem: { code: ErrorCode; message: string; lsn?: Uint8Array }) => void;
  }) => InboundHandler;
  maxFrameSize?: number;
}

export class SatelliteConnection {
  #deps: ConnectionDeps;
  #socket: SocketLike;
  #logger: Logger;
  #clientId: string | undefined;
  #userId: string | undefined;
  #closed = false;
  #expiry: ReturnType<typeof setTimeout> | undefined;
  #outbound: ClientStream | undefined;
  #starting = false;
  #shapes: ClientShapes | undefined;
  #serverRequestId = 0;
  #inbound: InboundHandler | undefined;
  #inboundActive = false;
  /** Client messages are handled one at a time, in arrival order. */
  #queue: Promise<void> = Promise.resolve();

  constructor(deps: ConnectionDeps, socket: SocketLike) {
    this.#deps = deps;
    this.#socket = socket;
    this.#logger = deps.logger;
  }

  receive(data: Uint8Array | string): void {
    this.#queue = this.#queue.then(() => this.#handle(data)).catch((error) => {
      this.#logger.error(`Failed to process a client message: ${(error as Error).message}`);
      this.#fail(
        ErrorCode.INTERNAL,
        "Failed to process message",
        CLOSE.internal,
        "Failed to process message",
      );
    });
  }

  /** The socket closed (by either side). Messages that arrived before still get handled. */
  closed(): void {
    this.#queue = this.#queue.then(() => {
      if (this.#closed) return;
      this.#closed = true;
      this.#teardown();
    });
  }

  #teardown(): void {
    if (this.#expiry) clearTimeout(this.#expiry);
    this.#outbound?.stop();
    this.#inbound?.close();
    if (this.#clientId) this.#deps.clients.release(this.#clientId, this.#live);
  }

  #live = {
    replaced: () => this.#close(CLOSE.normal, "Replaced by a newer connection of the same client"),
  };

  #send(frame: Uint8Array): void {
    if (!this.#closed) this.#socket.send(frame);
  }

  #close(code: number, reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#teardown();
    this.#socket.close(code, reason);
  }

  /** Sends a top-level SatErrorResp, then closes. */
  #fail(
    code: ErrorCode,
    message: string,
    closeCode: number = CLOSE.invalid,
    reason = message,
  ): void {
    this.#send(errorFrame(code, message));
    this.#close(closeCode, reason);
  }

  async #handle(data: Uint8Array | string): Promise<void> {
    if (this.#closed) return;
    if (typeof data === "string") {
      this.#fail(
        ErrorCode.INVALID_REQUEST,
        "Text frames are not supported",
        CLOSE.invalid,
        "Message not formatted according to Electric protocol",
      );
      return;
    }
    const frame = decodeFrame(data, { maxFrameSize: this.#deps.maxFrameSize });
    if (!frame.ok) {
      this.#logger.warning(`Corrupted frame from the client: ${frame.error.message}`);
      this.#fail(
        ErrorCode.INTERNAL,
        frame.error.message,
        CLOSE.invalid,
        "Message not formatted according to Electric protocol",
      );
      return;
    }
    switch (frame.name) {
      case "SatRpcRequest":
        return await this.#rpc(frame.message as SatRpcRequest);
      case "SatRpcResponse":
        return this.#rpcResponse(frame.message as SatRpcResponse);
      case "SatErrorResp":
        this.#close(CLOSE.normal, "Client reported an error");
        return;
    }
    if (!this.#userId) {
      this.#fail(ErrorCode.AUTH_REQUIRED, "Authentication required");
      return;
    }
    switch (frame.name) {
      case "SatOpLogAck": {
        const ack = frame.message;
        if (!this.#outbound || !this.#outbound.ack(ack.transactionId)) {
          this.#fail(ErrorCode.INVALID_REQUEST, "Acknowledged unknown txn");
          return;
        }
        // The client applied these GONE batches: nothing can name those subscriptions again.
        if (ack.goneSubscriptionIds.length > 0) {
          await this.#deps.store.removeSubscriptions(this.#clientId!, ack.goneSubscriptionIds)
            .catch((error) =>
              this.#logger.warning(`Could not forget subscriptions: ${(error as Error).message}`)
            );
        }
        return;
      }
      case "SatRelation":
        this.#inbound?.relation(frame.message as SatRelation);
        return;
      case "SatOpLog": {
        // Client writes are accepted only after the client answered our startReplication.
        if (!this.#inbound || !this.#inboundActive) return;
        const problem = await this.#inbound.opLog(frame.message as SatOpLog);
        if (problem) {
          this.#logger.warning(`Refused a client transaction: ${problem.message}`);
          this.#send(errorFrame(problem.code, problem.message, problem.lsn));
          this.#close(CLOSE.invalid, problem.message.slice(0, 120));
        }
        return;
      }
      default:
        this.#fail(ErrorCode.INVALID_REQUEST, `Unexpected message ${frame.name}`);
    }
  }

  async #rpc(request: SatRpcRequest): Promise<void> {
    if (request.method === "authenticate") return await this.#authenticate(request);
    if (!this.#userId) {
      this.#send(rpcErrorFrame(request, ErrorCode.AUTH_REQUIRED, "Authentication required"));
      this.#close(CLOSE.invalid, "Authentication required");
      return;
    }
    try {
      switch (request.method) {
        case "startReplication":
          return await this.#startReplication(request);
        case "stopReplication":
          this.#outbound?.stop();
          this.#outbound = undefined;
          this.#send(
            rpcResponseFrame(
              request,
              SatInStopReplicationRespSchema,
              create(SatInStopReplicationRespSchema, {}),
            ),
          );
          return;
        case "subscribe":
          return await this.#subscribe(request);
        case "unsubscribe":
          return this.#unsubscribe(request);
      }
    } catch (error) {
      if (
        error instanceof Error && error.name === "FromBinaryError" ||
        /premature EOF|invalid wire type|cannot parse/i.test(String(error))
      ) {
        this.#send(rpcErrorFrame(request, ErrorCode.INVALID_REQUEST, "Malformed RPC payload"));
        this.#close(CLOSE.invalid, "Malformed RPC payload");
        return;
      }
      throw error;
    }
    this.#send(
      rpcErrorFrame(request, ErrorCode.INVALID_REQUEST, `Unknown method ${request.method}`),
    );
    this.#close(CLOSE.invalid, "Unknown RPC method");
  }

  #rpcResponse(response: SatRpcResponse): void {
    if (response.method !== "startReplication" || !this.#inbound) return;
    if (response.result.case === "message") {
      this.#inboundActive = true;
      return;
    }
    this.#fail(ErrorCode.INVALID_REQUEST, "The client refused to start replication");
  }

  async #authenticate(request: SatRpcRequest): Promise<void> {
    let auth;
    try {
      auth = fromBinary(SatAuthReqSchema, request.message);
    } catch {
      this.#send(
        rpcErrorFrame(request, ErrorCode.INVALID_REQUEST, "Malformed authentication request"),
      );
      this.#close(CLOSE.invalid, "Malformed authentication request");
      return;
    }
    if (!auth.id || !auth.token) {
      this.#send(
        rpcErrorFrame(request, ErrorCode.INVALID_REQUEST, "Client id and token are required"),
      );
      this.#close(CLOSE.invalid, "Invalid authentication request");
      return;
    }
    const result = await this.#deps.authenticator.verify(auth.token);
    if (!result.ok) {
      this.#logger.warning(`Client authentication failed: ${result.error.message}`);
      this.#send(rpcErrorFrame(request, ErrorCode.AUTH_REQUIRED, result.error.message));
      this.#close(CLOSE.invalid, "Authentication failed");
      return;
    }
    if (this.#userId && (auth.id !== this.#clientId || result.userId !== this.#userId)) {
      this.#send(
        rpcErrorFrame(
          request,
          ErrorCode.INVALID_REQUEST,
          "Cannot change the client or user of a connection",
        ),
      );
      this.#close(CLOSE.invalid, "Invalid token renewal");
      return;
    }
    const renewal = this.#userId !== undefined;
    this.#clientId = auth.id;
    this.#userId = result.userId;
    this.#logger = this.#deps.logger.child({ client_id: auth.id, user_id: result.userId });
    this.#armExpiry(result.expiresAt);
    if (!renewal) this.#deps.clients.claim(auth.id, this.#live);
    this.#send(
      rpcResponseFrame(
        request,
        SatAuthRespSchema,
        create(SatAuthRespSchema, { id: this.#deps.instanceId }),
      ),
    );
    this.#logger.info(renewal ? "Client token renewed" : "Successfully authenticated the client");
  }

  #armExpiry(expiresAt: Date | undefined): void {
    if (this.#expiry) clearTimeout(this.#expiry);
    this.#expiry = undefined;
    if (!expiresAt) return;
    const delay = Math.max(0, expiresAt.getTime() - Date.now());
    // Timers cannot wait longer than ~24.8 days; such tokens are re-armed on renewal anyway.
    if (delay > 2 ** 31 - 1) return;
    this.#expiry = setTimeout(() => {
      this.#logger.info("Client token expired; closing the connection");
      this.#close(CLOSE.expired, "JWT-expired");
    }, delay);
  }

  /** Opens the client → server direction by asking the client to start its replication. */
  async #startInbound(): Promise<void> {
    const factory = this.#deps.inbound;
    const sql = this.#deps.pool();
    if (!factory || !sql || !this.#clientId || !this.#userId) return;
    const lsn = await this.#deps.clients.appliedClientLsn(sql, this.#clientId);
    if (this.#closed) return;
    this.#inbound = factory({
      clientId: this.#clientId,
      userId: this.#userId,
      logger: this.#logger,
      fail: (problem) => {
        this.#logger.warning(problem.message);
        this.#send(errorFrame(problem.code, problem.message, problem.lsn));
        this.#close(CLOSE.invalid, problem.message.slice(0, 120));
      },
    });
    this.#send(rpcRequestFrame(
      "startReplication",
      this.#serverRequestId++,
      SatInStartReplicationReqSchema,
      create(SatInStartReplicationReqSchema, { lsn }),
    ));
  }

  async #startReplication(request: SatRpcRequest): Promise<void> {
    const req = fromBinary(SatInStartReplicationReqSchema, request.message);
    const replicationError = (code: ReplicationErrorCode, message: string) => {
      this.#send(
        rpcResponseFrame(
          request,
          SatInStartReplicationRespSchema,
          create(SatInStartReplicationRespSchema, {
            err: { code, message },
          }),
        ),
      );
      this.#logger.info(`Refused to start replication: ${message}`);
      this.#close(CLOSE.invalid, message);
    };
    if (this.#outbound || this.#starting) {
      this.#send(
        rpcErrorFrame(request, ErrorCode.INVALID_REQUEST, "Replication is already started"),
      );
      this.#close(CLOSE.invalid, "Replication is already started");
      return;
    }
    this.#starting = true;
    const catalog = await this.#deps.catalogs.wait(2_000);
    if (!catalog) {
      this.#send(rpcErrorFrame(request, ErrorCode.INTERNAL, "The schema is not loaded yet"));
      this.#close(CLOSE.internal, "Schema not loaded");
      return;
    }
    const clientId = this.#clientId!;
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
    this.#shapes = new ClientShapes(this.#userId!, this.#deps.hub);
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
    this.#send(
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
    if (this.#closed) return;
    const clientId = this.#clientId!;
    const outbound = new ClientStream({
      clientId,
      dialect,
      log: this.#deps.log,
      catalog,
      frames: this.#deps.frames,
      logger: this.#logger,
      send: (frame) => this.#send(frame),
      fail: (reason, message) => {
        this.#logger.warning(message);
        this.#fail(
          ErrorCode.REPLICATION_FAILED,
          message,
          reason === "internal" ? CLOSE.internal : CLOSE.invalid,
        );
      },
      subscriptionFailed: (subscriptionId, error) => {
        this.#logger.warning(
          `Could not read the data of subscription ${subscriptionId}: ${error.message}`,
        );
        this.#send(encodeFrame(create(SatSubsDataErrorSchema, {
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
      this.#startInbound().catch((error) =>
        this.#logger.warning(`Could not start client replication: ${(error as Error).message}`)
      );
    }
  }

  async #subscribe(request: SatRpcRequest): Promise<void> {
    const req = fromBinary(SatSubsReqSchema, request.message);
    const respondError = (
      code: SatSubsResp_SatSubsError_Code,
      message: string,
      shapeRequestError: {
        code: SatSubsResp_SatSubsError_ShapeReqError_Code;
        message: string;
        requestId: string;
      }[] = [],
    ) => {
      this.#send(rpcResponseFrame(
        request,
        SatSubsRespSchema,
        create(SatSubsRespSchema, {
          subscriptionId: req.subscriptionId.length > 128
            ? req.subscriptionId.slice(0, 128)
            : req.subscriptionId,
          err: { code, message, shapeRequestError },
        }),
      ));
    };
    const catalog = this.#deps.catalogs.get();
    const sql = this.#deps.pool();
    if (!this.#outbound || !catalog || !this.#shapes) {
      return respondError(
        SatSubsResp_SatSubsError_Code.CODE_UNSPECIFIED,
        "Replication has not been started on this connection",
      );
    }
    const input: SubscriptionInput = {
      subscriptionId: req.subscriptionId,
      shapeRequests: req.shapeRequests.map((shape) => ({
        requestId: shape.requestId,
        selectCount: shape.shapeDefinition?.selects.length ?? 0,
        select: shape.shapeDefinition?.selects[0]
          ? toSelectInput(shape.shapeDefinition.selects[0])
          : undefined,
      })),
    };
    const planned = await planSubscription(input, catalog.current(), {
      activeSubscriptionIds: new Set(this.#shapes.ids()),
    });
    if (!planned.ok) {
      return respondError(
        SatSubsResp_SatSubsError_Code[
          planned.error.code as keyof typeof SatSubsResp_SatSubsError_Code
        ],
        planned.error.message,
        planned.error.shapeRequestErrors.map((e) => ({
          code: SatSubsResp_SatSubsError_ShapeReqError_Code[
            e.code as keyof typeof SatSubsResp_SatSubsError_ShapeReqError_Code
          ],
          message: e.message,
          requestId: e.requestId,
        })),
      );
    }
    if (!sql) {
      return respondError(
        SatSubsResp_SatSubsError_Code.CODE_UNSPECIFIED,
        "Postgres is not connected",
      );
    }
    const plan = planned.plan;
    // Stored before its data can reach the client: from then on a resume may name it.
    await this.#deps.store.addSubscription(this.#clientId!, { id: plan.subscriptionId, plan });
    if (this.#closed || !this.#outbound) return;
    this.#send(
      rpcResponseFrame(
        request,
        SatSubsRespSchema,
        create(SatSubsRespSchema, { subscriptionId: req.subscriptionId }),
      ),
    );
    const change = this.#shapes.add(plan);
    const transition = startTransition(this.#deps.hub, {
      kind: "subscribe",
      ...change,
      base: this.#deps.log.endLsn() ?? this.#outbound.position,
      sql,
      causedBy: `subscription:${plan.subscriptionId}`,
    });
    this.#outbound.enqueue({
      kind: "subscribe",
      subscription: {
        id: plan.subscriptionId,
        requestIds: plan.requests.map((r) => r.requestId),
      },
      transition,
    });
  }

  #unsubscribe(request: SatRpcRequest): void {
    const req = fromBinary(SatUnsubsReqSchema, request.message);
    this.#send(rpcResponseFrame(request, SatUnsubsRespSchema, create(SatUnsubsRespSchema, {})));
    const sql = this.#deps.pool();
    const change = this.#shapes?.remove(req.subscriptionIds);
    if (!change || !this.#outbound || !sql) return;
    const transition = startTransition(this.#deps.hub, {
      kind: "unsubscribe",
      from: change.from,
      to: change.to,
      base: this.#deps.log.endLsn() ?? this.#outbound.position,
      sql,
      causedBy: `unsubscribe:${change.removed[0]}`,
    });
    this.#outbound.enqueue({
      kind: "unsubscribe",
      subscriptionIds: req.subscriptionIds,
      transition,
    });
  }
}

type ProtoSelect = {
  tablename: string;
  where: string;
  include: { foreignKey: string[]; select?: ProtoSelect }[];
};

function toSelectInput(
  select: ProtoSelect,
): SubscriptionInput["shapeRequests"][number]["select"] & object {
  return {
    tablename: select.tablename,
    where: select.where,
    include: select.include.map((relation) => ({
      foreignKey: relation.foreignKey,
      select: relation.select
        ? toSelectInput(relation.select)
        : { tablename: "", where: "", include: [] },
    })),
  };
}
