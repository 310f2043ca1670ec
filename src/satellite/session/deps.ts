/**
 * What a Satellite connection is built with (`ConnectionDeps`) and what the write path hands
 * it (`InboundHandler`): types shared by the connection and the parts of its session, apart
 * from `connection.ts` so that those parts need not import the connection for them.
 */
import type { Authenticator } from "../../auth/mod.ts";
import type { SatOpLog, SatRelation } from "../../gen/mod.ts";
import type { CatalogHolder } from "../../migrations/mod.ts";
import type { TransactionLog } from "../../replication/mod.ts";
import type { Sql } from "../../storage/mod.ts";
import type { ClientStore, ShapeHub } from "../../sync/mod.ts";
import type { Permissions, RowWrite } from "../../permissions/mod.ts";
import type { Logger } from "../../telemetry/mod.ts";
import type { ClientRegistry } from "./clients.ts";
import type { SharedFrames } from "./frames_out.ts";
import type { SatelliteMetrics } from "./metrics.ts";
import type { SatErrorResp_ErrorCode as ErrorCode } from "./wire.ts";

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
  /** What connections count (clients, rows, bytes, transactions, lag). */
  metrics: SatelliteMetrics;
  /** Permission rules and roles; absent: every client reads and writes everything (0.12). */
  permissions?: Permissions;
  /** Creates the write-path handler of an authenticated client; absent: writes are not accepted. */
  inbound?: (client: {
    clientId: string;
    userId: string;
    logger: Logger;
    fail: (problem: { code: ErrorCode; message: string; lsn?: Uint8Array }) => void;
    /** Takes each write handed to the writer, until it is applied or refused. */
    track: (write: Promise<unknown>) => void;
    /**
     * Why the user may not make a transaction's writes (permissions, checked against the rows
     * Postgres holds); undefined when allowed.
     */
    refusal: (writes: readonly RowWrite[]) => Promise<string | undefined>;
  }) => InboundHandler;
  maxFrameSize?: number;
}
