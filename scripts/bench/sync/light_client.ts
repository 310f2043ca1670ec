/**
 * The light Satellite client of the sync benchmark: authenticates, starts replication (fresh
 * or resuming), answers the server's own startReplication request, subscribes, and follows
 * the stream acknowledging the way electric-sql@0.12.1 does (satellite-protocol.md §3.7):
 * once it has applied floor(0.7 × window) transactions on the connection it acks every one;
 * after subscription data it acks the last transaction if not yet acked; a 60 s timer
 * (`ackPending`, driven by the caller) covers the rest.
 *
 * Cheap on purpose (a thousand share the benchmark process): transactions are read with
 * `scanOpLog` (type byte, begin/commit, row count, one marker column), never decoded; RPC
 * frames, SatSubsDataBegin and errors, which arrive a few times per connection, are decoded
 * with the service's codec. `verify: true` additionally decodes every transaction frame fully
 * and checks the scan against it (verify.ts; one client per scenario).
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
  SatAuthRespSchema,
  SatInStartReplicationReqSchema,
  SatInStartReplicationRespSchema,
  SatInStopReplicationRespSchema,
  SatRpcRequestSchema,
  type SatRpcResponse,
  SatRpcResponseSchema,
  SatSubsReqSchema,
  SatSubsRespSchema,
} from "../../../src/gen/mod.ts";
import { decodeFrame, encodeFrame } from "../../../src/satellite/codec/mod.ts";
import { insecureToken } from "../../../tests/helpers/satellite_client.ts";
import { ackFrame, EMPTY, newCursor, scanOpLog, type TxCursor } from "./oplog_scan.ts";
import { verifyOpLog } from "./verify.ts";
import { openWs, type Ws } from "./ws.ts";

export interface LightClientOptions {
  host: string;
  port: number;
  /** Column index of the marker in the benchmark table's rows (items.n = 2); -1: none. */
  markerColumn?: number;
  /**
   * Called after each applied transaction with its marker (-1 if none), row ops and commit
   * timestamp (a client's own writes come back with the timestamp it sent).
   */
  onTransaction?: (marker: number, rows: number, commitTimestamp: number) => void;
  /** Decode every transaction frame fully and check the scan against it (not shape data). */
  verify?: boolean;
  /**
   * Sees every SatOpLog frame of subscription data (type byte included; valid only during the
   * call), e.g. to check which rows it holds.
   */
  onShapeData?: (frame: Uint8Array) => void;
  /** Debugging: sees the type byte and size of every frame. */
  onFrame?: (type: number, size: number) => void;
}

export interface Shape {
  tablename: string;
  where?: string;
}

export interface Delivered {
  subscriptionId: string;
  rows: number;
  /** performance.now() when the subscribe request was sent / SatSubsDataEnd arrived. */
  requestedAt: number;
  endedAt: number;
}

interface Delivery {
  subscriptionId: string;
  requestedAt: number;
  rows: number;
  lsn: Uint8Array;
  started: boolean;
  resolve: (delivered: Delivered) => void;
  reject: (error: Error) => void;
}

type Pending = { resolve: (r: SatRpcResponse) => void; reject: (e: Error) => void };

export class ReplicationRefused extends Error {
  constructor(readonly code: number, message: string) {
    super(message);
  }
}

export class LightClient {
  readonly id: string;
  /** Applied server transactions on this connection. */
  applied = 0;
  /** Position to resume from: last transaction or subscription data applied (raw bytes). */
  lsn: Uint8Array = EMPTY;
  readonly subscriptionIds: string[] = [];
  /** Protocol problems seen (errors from the server, scan mismatches). */
  readonly errors: string[] = [];
  closeReason: string | undefined;
  #ws!: Ws;
  #o: LightClientOptions;
  #threshold = 21;
  #cursor: TxCursor = newCursor();
  #txid: Uint8Array = EMPTY;
  #acked = true;
  #requestId = 0;
  #pending: Map<number, Pending> | undefined;
  #delivery: Delivery | undefined;

  private constructor(id: string, options: LightClientOptions) {
    this.id = id;
    this.#o = options;
  }

  static async connect(
    options: LightClientOptions,
    id: string = crypto.randomUUID(),
  ): Promise<LightClient> {
    const client = new LightClient(id, options);
    client.#ws = await openWs({
      host: options.host,
      port: options.port,
      onMessage: (data) => client.#onMessage(data),
      onClose: (reason) => client.#onClose(reason),
    });
    return client;
  }

  /** Applied transactions from which every one is acknowledged: floor(0.7 × window). */
  get ackThreshold(): number {
    return this.#threshold;
  }

  get closed(): boolean {
    return this.#ws.closed;
  }

  close(): void {
    this.#ws.close();
  }

  /** Sends an encoded frame as it is (client writes: SatRelation, SatOpLog). */
  sendFrame(frame: Uint8Array): void {
    this.#ws.send(frame);
  }

  async authenticate(sub = "bench"): Promise<void> {
    const response = await this.#rpc("authenticate", SatAuthReqSchema, {
      id: this.id,
      token: insecureToken({ sub }),
    });
    decodePayload(SatAuthRespSchema, response);
  }

  /** Starts the server → client stream; throws `ReplicationRefused` on an `err` answer. */
  async startReplication(
    request: MessageInitShape<typeof SatInStartReplicationReqSchema> = {},
  ): Promise<void> {
    const response = decodePayload(
      SatInStartReplicationRespSchema,
      await this.#rpc("startReplication", SatInStartReplicationReqSchema, request),
    );
    if (response.err) {
      throw new ReplicationRefused(response.err.code, response.err.message);
    }
  }

  /** Resumes from the stored position with the stored subscriptions. */
  async resume(): Promise<void> {
    await this.startReplication({ lsn: this.lsn, subscriptionIds: this.subscriptionIds });
  }

  /** Subscribes and resolves once SatSubsDataEnd arrived. */
  async subscribe(shape: Shape): Promise<Delivered> {
    const subscriptionId = crypto.randomUUID();
    const requestedAt = performance.now();
    const delivered = new Promise<Delivered>((resolve, reject) => {
      this.#delivery = {
        subscriptionId,
        requestedAt,
        rows: 0,
        lsn: EMPTY,
        started: false,
        resolve,
        reject,
      };
    });
    // Rejected by a close before the response arrives, when nobody awaits it yet.
    delivered.catch(() => {});
    const response = decodePayload(
      SatSubsRespSchema,
      await this.#rpc("subscribe", SatSubsReqSchema, {
        subscriptionId,
        shapeRequests: [{
          requestId: crypto.randomUUID(),
          shapeDefinition: { selects: [{ tablename: shape.tablename, where: shape.where ?? "" }] },
        }],
      }),
    );
    if (response.err) throw new Error(`Subscription refused: ${response.err.message}`);
    return await delivered;
  }

  /** The 60 s timer's ack: the last applied transaction, if not yet acknowledged. */
  ackPending(): void {
    if (!this.#acked && this.#txid.length > 0) this.#ack([]);
  }

  #ack(subscriptionIds: readonly string[]): void {
    this.#acked = true;
    this.#ws.send(ackFrame(this.#txid, this.lsn, subscriptionIds));
  }

  #onMessage(data: Uint8Array): void {
    try {
      this.#o.onFrame?.(data[0], data.length);
      // Shape data is counted, not checked: verifying it would slow the initial-sync figure.
      if (this.#o.verify && !this.#delivery?.started && data[0] === 9) {
        verifyOpLog(data, this.#cursor, this.#o.markerColumn ?? -1);
      }
      switch (data[0]) {
        case 9: // SatOpLog
          if (this.#delivery?.started) {
            this.#delivery.rows += scanOpLog(data, this.#cursor, -1);
            this.#o.onShapeData?.(data);
          } else {
            scanOpLog(data, this.#cursor, this.#o.markerColumn ?? -1, this.#onCommit);
          }
          return;
        case 15: { // SatSubsDataBegin
          const frame = decodeFrame(data);
          if (frame.ok && frame.name === "SatSubsDataBegin" && this.#delivery) {
            this.#delivery.started = true;
            this.#delivery.lsn = frame.message.lsn;
          }
          return;
        }
        case 16: { // SatSubsDataEnd
          const delivery = this.#delivery;
          if (!delivery) return;
          this.#delivery = undefined;
          this.lsn = delivery.lsn;
          this.subscriptionIds.push(delivery.subscriptionId);
          if (!this.#acked && this.#txid.length > 0) this.#ack([delivery.subscriptionId]);
          delivery.resolve({
            subscriptionId: delivery.subscriptionId,
            rows: delivery.rows,
            requestedAt: delivery.requestedAt,
            endedAt: performance.now(),
          });
          return;
        }
        case 14: // SatSubsDataError
          this.#delivery?.reject(new Error("SatSubsDataError"));
          this.#delivery = undefined;
          return;
        case 21: // SatRpcRequest (the server opening the client → server direction)
          this.#answer(data);
          return;
        case 22: { // SatRpcResponse
          const frame = decodeFrame(data);
          if (!frame.ok || frame.name !== "SatRpcResponse") return;
          // Transactions may follow in the same read, before an awaiting caller resumes:
          // the window has to be known now.
          if (frame.message.method === "startReplication") this.#window(frame.message);
          const waiting = this.#pending?.get(frame.message.requestId);
          this.#pending?.delete(frame.message.requestId);
          waiting?.resolve(frame.message);
          return;
        }
        case 0: { // SatErrorResp
          const frame = decodeFrame(data);
          this.errors.push(
            `SatErrorResp: ${frame.ok ? JSON.stringify(frame.message, jsonSafe) : "?"}`,
          );
          return;
        }
      }
    } catch (error) {
      this.errors.push((error as Error).message);
    }
  }

  #onCommit = (cursor: TxCursor): void => {
    this.applied++;
    this.#txid = cursor.txid;
    this.lsn = cursor.lsn;
    this.#acked = false;
    this.#o.onTransaction?.(cursor.marker, cursor.rows, cursor.commitTimestamp);
    if (this.applied >= this.#threshold) this.#ack([]);
  };

  #window(response: SatRpcResponse): void {
    if (response.result.case !== "message") return;
    const started = fromBinary(SatInStartReplicationRespSchema, response.result.value);
    if (!started.err) this.#threshold = Math.floor(0.7 * (started.unackedWindowSize ?? 30));
  }

  /** Whether the server asked for this client's writes (its startReplication, answered). */
  get uploading(): boolean {
    return this.#uploadFrom !== undefined;
  }

  /**
   * The client LSN the server asked writes from (its startReplication's `lsn`: the last client
   * transaction Postgres holds; empty for none), once asked.
   */
  get uploadFrom(): Uint8Array | undefined {
    return this.#uploadFrom;
  }

  #uploadFrom: Uint8Array | undefined;

  #answer(data: Uint8Array): void {
    const frame = decodeFrame(data);
    if (!frame.ok || frame.name !== "SatRpcRequest") return;
    const { method, requestId } = frame.message;
    if (method === "startReplication") {
      this.#uploadFrom = fromBinary(SatInStartReplicationReqSchema, frame.message.message).lsn;
    } else {
      this.#uploadFrom = undefined;
    }
    const schema = method === "stopReplication"
      ? SatInStopReplicationRespSchema
      : SatInStartReplicationRespSchema;
    this.#ws.send(encodeFrame(create(SatRpcResponseSchema, {
      method,
      requestId,
      result: { case: "message", value: toBinary(schema, create(schema, {})) },
    })));
  }

  #rpc<D extends DescMessage>(
    method: string,
    schema: D,
    payload: MessageInitShape<D>,
  ): Promise<SatRpcResponse> {
    const requestId = ++this.#requestId;
    this.#pending ??= new Map();
    const answered = new Promise<SatRpcResponse>((resolve, reject) => {
      this.#pending!.set(requestId, { resolve, reject });
    });
    this.#ws.send(encodeFrame(create(SatRpcRequestSchema, {
      method,
      requestId,
      message: toBinary(schema, create(schema, payload)),
    })));
    return answered;
  }

  #onClose(reason: string): void {
    this.closeReason = reason;
    const error = new Error(
      `Connection closed (${reason})${this.errors.length ? `: ${this.errors.join("; ")}` : ""}`,
    );
    for (const waiting of this.#pending?.values() ?? []) waiting.reject(error);
    this.#pending?.clear();
    this.#delivery?.reject(error);
    this.#delivery = undefined;
  }
}

function decodePayload<D extends DescMessage>(schema: D, response: SatRpcResponse) {
  if (response.result.case !== "message") {
    throw new Error(
      `RPC ${response.method} failed: ${JSON.stringify(response.result.value, jsonSafe)}`,
    );
  }
  return fromBinary(schema, response.result.value);
}

function jsonSafe(_key: string, value: unknown): unknown {
  return typeof value === "bigint" ? String(value) : value;
}

/** Acks every client's pending transaction every 60 s, as the real client's timer does. */
export function startAckTimer(clients: readonly LightClient[]): () => void {
  const timer = setInterval(() => {
    for (const client of clients) if (!client.closed) client.ackPending();
  }, 60_000);
  (timer as { unref?: () => void }).unref?.();
  return () => clearInterval(timer);
}
