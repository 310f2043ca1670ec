/**
 * A Satellite client for fault tests that keeps, across connections, what a real client keeps
 * in its database: its id, every transaction it wrote (its oplog), the server position and
 * subscription it resumes from, and a replica of the rows it received. Whenever its connection
 * ends it reconnects with backoff (once /api/status answers 200), resumes from its position,
 * and re-sends its transactions after the one the service says Postgres holds (the server's
 * startReplication request, satellite-protocol.md §3.5). A refused resume (BEHIND_WINDOW,
 * INVALID_POSITION, SUBSCRIPTION_NOT_FOUND) wipes the replica and starts afresh, as the real
 * client does (§8.2).
 *
 * The replica applies the server stream only (initial data, inserts, updates, deletes, gone),
 * never the client's own writes optimistically, so at rest it must equal Postgres. A write is
 * acknowledged when it is echoed back (§4.9) or when the service reports it applied; either
 * must never be taken back, and `problems` records it if it is.
 *
 * Acks follow electric-sql@0.12.1 (§3.7): every transaction once floor(0.7 × window) are
 * applied on the connection, and after subscription data if a transaction is unacked.
 *
 * Longer than most files here: it is one state machine, and what outlives a connection and
 * what dies with it are easiest to check side by side.
 */
import {
  create,
  type DescMessage,
  fromBinary,
  type MessageInitShape,
  toBinary,
} from "@bufbuild/protobuf";
import {
  SatAuthReqSchema,
  SatInStartReplicationReqSchema,
  SatInStartReplicationRespSchema,
  SatInStopReplicationRespSchema,
  type SatOpLog,
  SatOpLogAckSchema,
  SatOpLogSchema,
  type SatOpRow,
  SatRelationSchema,
  type SatRpcRequest,
  SatRpcRequestSchema,
  type SatRpcResponse,
  SatRpcResponseSchema,
  SatSubsReqSchema,
  SatSubsRespSchema,
  type SatTransOpSchema,
} from "../../src/gen/mod.ts";
import { decodeFrame, encodeFrame, type Frame } from "../../src/satellite/codec/mod.ts";
import { isNullAt, nullsBitmask } from "../../src/satellite/serialization/mod.ts";
import { openWs, type Ws } from "../../scripts/bench/sync/ws.ts";
import { insecureToken, payloadOf } from "./satellite_client.ts";

export type Row = Record<string, string | null>;

/** The one table the client writes and subscribes to; `key` is its single-column primary key. */
export interface TableSpec {
  name: string;
  key: string;
  columns: { name: string; type: string }[];
}

export type ClientOp =
  | { kind: "insert"; row: Row; tags: string[] }
  | { kind: "update"; row: Row; old: Row; tags: string[] }
  | { kind: "delete"; old: Row; tags: string[] };

/** Transaction `n` has client LSN n (8 bytes, big-endian) and a commit timestamp of its own. */
export interface IssuedTx {
  n: number;
  timestamp: number;
  ops: ClientOp[];
  frame: Uint8Array;
}

export interface ResumingClientOptions {
  host: string;
  port: number;
  table: TableSpec;
  /** Seeded randomness for the backoff jitter. */
  random: () => number;
  id?: string;
  /**
   * Where to connect, asked before each connection (several instances behind a balancer, one
   * of which goes away); default `host` and `port`.
   */
  endpoint?: () => { host: string; port: number };
}

const RELATION_ID = 1;
const RPC_TIMEOUT_MS = 5_000;
/** Codes of SatInStartReplicationResp.err after which the client starts afresh. */
const START_AFRESH = new Set([1, 2, 3]); // BEHIND_WINDOW, INVALID_POSITION, SUBSCRIPTION_NOT_FOUND
const encoder = new TextEncoder();
const decoder = new TextDecoder();

type Pending = { resolve: (r: SatRpcResponse) => void; reject: (e: Error) => void };

/** One WebSocket connection and what lives only as long as it does. */
interface Connection {
  ws: Ws;
  closed: Promise<string>;
  pending: Map<number, Pending>;
  requestId: number;
  relations: Map<number, string[]>;
  uploading: boolean;
  threshold: number;
  applied: number;
  txid: bigint | undefined;
  acked: boolean;
  open:
    | { lsn: Uint8Array; origin: string; timestamp: number; txid: bigint; ops: SatOpLog["ops"] }
    | undefined;
  delivery:
    | {
      id: string;
      /** Set by SatSubsDataBegin: from then until SatSubsDataEnd, SatOpLog is shape data. */
      lsn: Uint8Array | undefined;
      rows: { row: Row; tags: string[] }[];
      done: (ok: boolean) => void;
    }
    | undefined;
}

export class ResumingClient {
  readonly id: string;
  /** Rows received, by primary key. */
  readonly rows = new Map<string, { row: Row; tags: string[] }>();
  /** Every transaction written, `sent[n - 1]` being transaction n. */
  readonly sent: IssuedTx[] = [];
  /** Things that must not happen (an acknowledged write taken back, a protocol error). */
  readonly problems: string[] = [];
  /** The last write known applied in Postgres (echoed, or reported by the service). */
  acknowledged = 0;
  connections = 0;
  /** Fresh starts after a refused resume. */
  restarts = 0;
  /** Writes sent as a connection opened: again, or for the first time if written offline. */
  resent = 0;
  /** Migrations received in the stream (SatOpMigrate). */
  migrations = 0;
  /** The port of the last connection made. */
  port: number | undefined;
  lastError: string | undefined;
  #o: ResumingClientOptions;
  #lsn: Uint8Array = new Uint8Array();
  #subscriptionIds: string[] = [];
  #byTimestamp = new Map<number, number>();
  #lastTimestamp = 0;
  #conn: Connection | undefined;
  #ready = false;
  #stopped = false;
  #running: Promise<void> | undefined;

  constructor(options: ResumingClientOptions) {
    this.#o = options;
    this.id = options.id ?? crypto.randomUUID();
  }

  /** Connected, uploading and holding its subscription's data. */
  get ready(): boolean {
    return this.#ready && this.#conn?.uploading === true;
  }

  /** Writes sent but not yet known applied. */
  get inFlight(): number {
    return this.sent.length - this.acknowledged;
  }

  start(): void {
    this.#running ??= this.#run();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#conn?.ws.close();
    await this.#running;
  }

  /** Drops the current connection; the client reconnects and re-sends what is not applied. */
  reconnect(): void {
    this.#conn?.ws.close();
  }

  /** Records a transaction and sends it if the connection is uploading. */
  write(ops: ClientOp[]): IssuedTx {
    const n = this.sent.length + 1;
    const timestamp = this.#lastTimestamp = Math.max(Date.now(), this.#lastTimestamp + 1);
    const lsn = new Uint8Array(8);
    new DataView(lsn.buffer).setBigUint64(0, BigInt(n));
    const frame = encodeFrame(create(SatOpLogSchema, {
      ops: [
        { op: { case: "begin", value: { commitTimestamp: BigInt(timestamp), lsn } } },
        ...ops.map((op) => this.#encodeOp(op)),
        { op: { case: "commit", value: {} } },
      ],
    }));
    const tx = { n, timestamp, ops, frame };
    this.sent.push(tx);
    this.#byTimestamp.set(timestamp, n);
    if (this.#conn?.uploading) this.#conn.ws.send(frame);
    return tx;
  }

  #encodeOp(op: ClientOp): MessageInitShape<typeof SatTransOpSchema> {
    const rowData = (row: Row) => {
      const values = this.#o.table.columns.map((c) => row[c.name] ?? null);
      return {
        nullsBitmask: nullsBitmask(values.map((v) => v === null)),
        values: values.map((v) => encoder.encode(v ?? "")),
      };
    };
    const relationId = RELATION_ID;
    switch (op.kind) {
      case "insert":
        return {
          op: { case: "insert", value: { relationId, rowData: rowData(op.row), tags: op.tags } },
        };
      case "update":
        return {
          op: {
            case: "update",
            value: {
              relationId,
              rowData: rowData(op.row),
              oldRowData: rowData(op.old),
              tags: op.tags,
            },
          },
        };
      case "delete":
        return {
          op: { case: "delete", value: { relationId, oldRowData: rowData(op.old), tags: op.tags } },
        };
    }
  }

  async #run(): Promise<void> {
    let attempt = 0;
    while (!this.#stopped) {
      try {
        if (await this.#session()) attempt = 0;
      } catch (error) {
        this.lastError = (error as Error).message;
      }
      this.#ready = false;
      this.#conn = undefined;
      if (this.#stopped) break;
      // Full jitter over 20 ms × 2^attempt, at most 500 ms: faults here last about a second.
      const ms = this.#o.random() * Math.min(500, 20 * 2 ** attempt++);
      await new Promise((resolve) => setTimeout(resolve, ms));
    }
  }

  /** One connection, from status check to close; true if it got as far as being ready. */
  async #session(): Promise<boolean> {
    const { host, port } = this.#o.endpoint?.() ?? this.#o;
    this.port = port;
    const status = await fetch(`http://${host}:${port}/api/status`, {
      signal: AbortSignal.timeout(RPC_TIMEOUT_MS),
    });
    await status.body?.cancel();
    if (status.status !== 200) throw new Error(`/api/status answered ${status.status}`);
    let closedBy!: (reason: string) => void;
    const conn: Connection = {
      ws: undefined as unknown as Ws,
      closed: new Promise((resolve) => closedBy = resolve),
      pending: new Map(),
      requestId: 0,
      relations: new Map(),
      uploading: false,
      threshold: 21,
      applied: 0,
      txid: undefined,
      acked: true,
      open: undefined,
      delivery: undefined,
    };
    conn.ws = await openWs({
      host,
      port,
      // The payload is a view into the read buffer: decoded messages would keep pointing at it.
      onMessage: (data) => this.#onFrame(conn, data.slice()),
      onClose: (reason) => {
        closedBy(reason);
        for (const waiting of conn.pending.values()) {
          waiting.reject(new Error(`Connection closed (${reason})`));
        }
        conn.pending.clear();
        conn.delivery?.done(false);
      },
    });
    if (this.#stopped) {
      conn.ws.close();
      return false;
    }
    this.#conn = conn;
    this.connections++;
    try {
      payloadOf(
        SatAuthReqSchema,
        await this.#rpc(conn, "authenticate", SatAuthReqSchema, {
          id: this.id,
          token: insecureToken({ sub: `user-${this.id}` }),
        }),
      );
      const started = payloadOf(
        SatInStartReplicationRespSchema,
        await this.#rpc(conn, "startReplication", SatInStartReplicationReqSchema, {
          lsn: this.#lsn,
          subscriptionIds: this.#subscriptionIds,
        }),
      );
      if (started.err) {
        if (!START_AFRESH.has(started.err.code)) {
          throw new Error(`Replication refused (${started.err.code}): ${started.err.message}`);
        }
        this.restarts++;
        this.rows.clear();
        this.#lsn = new Uint8Array();
        this.#subscriptionIds = [];
        conn.ws.close();
        return false;
      }
      conn.threshold = Math.floor(0.7 * (started.unackedWindowSize ?? 30));
      if (this.#subscriptionIds.length === 0) await this.#subscribe(conn);
      this.#ready = true;
      await conn.closed;
      return true;
    } finally {
      conn.ws.close();
    }
  }

  async #subscribe(conn: Connection): Promise<void> {
    const id = crypto.randomUUID();
    const delivered = new Promise<boolean>((done) => {
      conn.delivery = { id, lsn: undefined, rows: [], done };
    });
    const response = payloadOf(
      SatSubsRespSchema,
      await this.#rpc(conn, "subscribe", SatSubsReqSchema, {
        subscriptionId: id,
        shapeRequests: [{
          requestId: crypto.randomUUID(),
          shapeDefinition: { selects: [{ tablename: this.#o.table.name }] },
        }],
      }),
    );
    if (response.err) throw new Error(`Subscription refused: ${response.err.message}`);
    if (!await delivered) throw new Error("Connection closed before the subscription data");
  }

  #rpc<D extends DescMessage>(
    conn: Connection,
    method: string,
    schema: D,
    payload: MessageInitShape<D>,
  ): Promise<SatRpcResponse> {
    const requestId = ++conn.requestId;
    return new Promise<SatRpcResponse>((resolve, reject) => {
      const timer = setTimeout(() => {
        conn.pending.delete(requestId);
        reject(new Error(`No answer to ${method} within ${RPC_TIMEOUT_MS} ms`));
        conn.ws.close();
      }, RPC_TIMEOUT_MS);
      conn.pending.set(requestId, {
        resolve: (r) => (clearTimeout(timer), resolve(r)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
      conn.ws.send(encodeFrame(create(SatRpcRequestSchema, {
        method,
        requestId,
        message: toBinary(schema, create(schema, payload)),
      })));
    });
  }

  #onFrame(conn: Connection, data: Uint8Array): void {
    const frame = decodeFrame(data);
    if (!frame.ok) {
      this.problems.push(`undecodable frame from the server: ${frame.error.message}`);
      return;
    }
    try {
      this.#handle(conn, frame);
    } catch (error) {
      this.problems.push(`handling ${frame.name}: ${(error as Error).message}`);
      conn.ws.close();
    }
  }

  #handle(conn: Connection, frame: Frame): void {
    switch (frame.name) {
      case "SatRpcResponse": {
        const waiting = conn.pending.get(frame.message.requestId);
        conn.pending.delete(frame.message.requestId);
        waiting?.resolve(frame.message);
        return;
      }
      case "SatRpcRequest":
        return this.#answer(conn, frame.message);
      case "SatRelation":
        conn.relations.set(frame.message.relationId, frame.message.columns.map((c) => c.name));
        return;
      case "SatSubsDataBegin":
        if (conn.delivery) conn.delivery.lsn = frame.message.lsn;
        return;
      case "SatShapeDataBegin":
      case "SatShapeDataEnd":
        return;
      case "SatSubsDataEnd":
        return this.#delivered(conn);
      case "SatSubsDataError":
        this.problems.push(`SatSubsDataError: ${frame.message.message}`);
        conn.delivery?.done(false);
        conn.delivery = undefined;
        return;
      case "SatOpLog":
        return this.#opLog(conn, frame.message);
      case "SatErrorResp":
        this.problems.push(
          `SatErrorResp ${frame.message.errorType}: ${frame.message.message ?? ""}`,
        );
        return;
      default:
        this.problems.push(`unexpected ${frame.name}`);
    }
  }

  /** The server opens (or closes) the upload direction. */
  #answer(conn: Connection, request: SatRpcRequest): void {
    const { method, requestId } = request;
    const schema = method === "stopReplication"
      ? SatInStopReplicationRespSchema
      : SatInStartReplicationRespSchema;
    conn.ws.send(encodeFrame(create(SatRpcResponseSchema, {
      method,
      requestId,
      result: { case: "message", value: toBinary(schema, create(schema, {})) },
    })));
    if (method !== "startReplication") {
      conn.uploading = false;
      return;
    }
    const { lsn } = fromBinary(SatInStartReplicationReqSchema, request.message);
    const applied = lsn.reduce((n, byte) => n * 256 + byte, 0);
    if (applied < this.acknowledged) {
      this.problems.push(
        `the service reports write ${applied} as the last applied, but ${this.acknowledged} was acknowledged`,
      );
    }
    if (applied > this.sent.length) {
      this.problems.push(
        `the service reports write ${applied} applied; only ${this.sent.length} were sent`,
      );
    }
    this.acknowledged = Math.max(this.acknowledged, applied);
    conn.ws.send(encodeFrame(create(SatRelationSchema, {
      schemaName: "public",
      tableName: this.#o.table.name,
      relationId: RELATION_ID,
      columns: this.#o.table.columns.map((c) => ({
        name: c.name,
        type: c.type,
        isNullable: c.name !== this.#o.table.key,
      })),
    })));
    conn.uploading = true;
    for (const tx of this.sent.slice(applied)) {
      conn.ws.send(tx.frame);
      this.resent++;
    }
  }

  #opLog(conn: Connection, message: SatOpLog): void {
    if (conn.delivery?.lsn) {
      for (const { op } of message.ops) {
        if (op.case !== "insert") throw new Error(`${op.case} in subscription data`);
        const row = this.#decodeRow(conn, op.value.relationId, op.value.rowData);
        conn.delivery.rows.push({ row, tags: op.value.tags });
      }
      return;
    }
    for (const item of message.ops) {
      const { op } = item;
      if (op.case === "begin") {
        if (conn.open) throw new Error("begin inside a transaction");
        conn.open = {
          lsn: op.value.lsn,
          origin: op.value.origin ?? "",
          timestamp: Number(op.value.commitTimestamp),
          txid: op.value.transactionId ?? 0n,
          ops: [],
        };
      } else if (op.case === "commit") {
        if (!conn.open) throw new Error("commit without a transaction");
        this.#commit(conn, conn.open);
        conn.open = undefined;
      } else {
        if (!conn.open) throw new Error(`${op.case} outside a transaction`);
        conn.open.ops.push(item);
      }
    }
  }

  /** Applies a whole transaction, as the client does in one local transaction. */
  #commit(conn: Connection, tx: NonNullable<Connection["open"]>): void {
    const key = this.#o.table.key;
    for (const { op } of tx.ops) {
      switch (op.case) {
        case "insert":
        case "update": {
          const row = this.#decodeRow(conn, op.value.relationId, op.value.rowData);
          this.rows.set(row[key]!, { row, tags: op.value.tags });
          break;
        }
        case "delete": {
          const row = this.#decodeRow(conn, op.value.relationId, op.value.oldRowData);
          this.rows.delete(row[key]!);
          break;
        }
        case "gone": {
          const row = this.#decodeRow(conn, op.value.relationId, op.value.pkData);
          this.rows.delete(row[key]!);
          break;
        }
        case "migrate":
          this.migrations++;
          break;
        default:
          throw new Error(`unexpected ${op.case} in a transaction`);
      }
    }
    this.#lsn = tx.lsn;
    if (tx.origin === this.id) {
      const n = this.#byTimestamp.get(tx.timestamp);
      if (n === undefined) this.problems.push(`echo of an unknown write at ${tx.timestamp}`);
      else this.acknowledged = Math.max(this.acknowledged, n);
    }
    conn.applied++;
    conn.txid = tx.txid;
    conn.acked = false;
    if (conn.applied >= conn.threshold) this.#ack(conn, []);
  }

  #delivered(conn: Connection): void {
    const delivery = conn.delivery;
    if (!delivery?.lsn) throw new Error("SatSubsDataEnd without a delivery");
    conn.delivery = undefined;
    for (const entry of delivery.rows) this.rows.set(entry.row[this.#o.table.key]!, entry);
    this.#lsn = delivery.lsn;
    this.#subscriptionIds = [delivery.id];
    if (!conn.acked && conn.txid !== undefined) this.#ack(conn, [delivery.id]);
    delivery.done(true);
  }

  #ack(conn: Connection, subscriptionIds: string[]): void {
    conn.acked = true;
    conn.ws.send(encodeFrame(create(SatOpLogAckSchema, {
      ackTimestamp: BigInt(Date.now()),
      lsn: this.#lsn,
      transactionId: conn.txid ?? 0n,
      subscriptionIds,
    })));
  }

  #decodeRow(conn: Connection, relationId: number, data: SatOpRow | undefined): Row {
    const columns = conn.relations.get(relationId);
    if (!columns) throw new Error(`row of unannounced relation ${relationId}`);
    if (!data) throw new Error("row without data");
    const row: Row = {};
    columns.forEach((name, i) => {
      row[name] = isNullAt(data.nullsBitmask, i) ? null : decoder.decode(data.values[i]);
    });
    return row;
  }
}
