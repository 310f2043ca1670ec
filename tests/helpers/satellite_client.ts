/**
 * A minimal Satellite client for tests: a real WebSocket speaking the frame protocol, with
 * RPC helpers and waits on received frames (no sleeps). Frames are decoded with the service's
 * own codec, so tests read messages, not bytes.
 */
import {
  create,
  type DescMessage,
  fromBinary,
  type MessageInitShape,
  toBinary,
} from "@bufbuild/protobuf";
import { SatRpcRequestSchema, type SatRpcResponse } from "../../src/gen/mod.ts";
import {
  decodeFrame,
  encodeFrame,
  type Frame,
  type FrameMessage,
} from "../../src/satellite/codec/mod.ts";
import { waitFor } from "./wait.ts";

export interface TestClient {
  frames: Frame[];
  closed: Promise<{ code: number; reason: string }>;
  isClosed(): boolean;
  sendRaw(data: Uint8Array | string): void;
  send(message: FrameMessage): void;
  /** From now on, drops incoming frames undecoded (benchmarks: the client's CPU is not measured). */
  ignoreIncoming(): void;
  rpc<D extends DescMessage>(
    method: string,
    schema: D,
    payload: MessageInitShape<D>,
  ): Promise<SatRpcResponse>;
  /** Waits for (and takes) the first not yet taken frame named `name` (and matching `where`). */
  next<N extends Frame["name"]>(
    name: N,
    options?: { timeoutMs?: number; where?: (f: Extract<Frame, { name: N }>) => boolean },
  ): Promise<Extract<Frame, { name: N }>>;
  close(): void;
}

let requestIds = 1;

export async function connectClient(url: string, protocol = "electric.0.12"): Promise<TestClient> {
  const ws = new WebSocket(url, protocol);
  ws.binaryType = "arraybuffer";
  const frames: Frame[] = [];
  const consumed = new Set<number>();
  let closedFlag = false;
  let ignoring = false;
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    ws.addEventListener("close", (event) => {
      closedFlag = true;
      resolve({ code: event.code, reason: event.reason });
    });
  });
  ws.addEventListener("message", (event) => {
    if (ignoring) return;
    const decoded = decodeFrame(new Uint8Array(event.data as ArrayBuffer));
    if (decoded.ok) frames.push(decoded as Frame);
  });
  await new Promise<void>((resolve, reject) => {
    ws.addEventListener("open", () => resolve(), { once: true });
    ws.addEventListener("error", () => reject(new Error(`WebSocket to ${url} failed`)), {
      once: true,
    });
  });
  const client: TestClient = {
    frames,
    closed,
    isClosed: () => closedFlag,
    sendRaw: (data) => ws.send(data),
    send: (message) => ws.send(encodeFrame(message)),
    ignoreIncoming: () => ignoring = true,
    async rpc(method, schema, payload) {
      const requestId = requestIds++;
      ws.send(encodeFrame(create(SatRpcRequestSchema, {
        method,
        requestId,
        message: toBinary(schema, create(schema, payload)),
      })));
      const response = await client.next("SatRpcResponse", {
        where: (f) => f.message.requestId === requestId && f.message.method === method,
      });
      return response.message;
    },
    async next(name, options = {}) {
      return await waitFor(() => {
        for (let i = 0; i < frames.length; i++) {
          const frame = frames[i];
          if (consumed.has(i) || frame.name !== name) continue;
          const typed = frame as Extract<Frame, { name: typeof name }>;
          if (options.where && !options.where(typed)) continue;
          consumed.add(i);
          return typed;
        }
        return undefined;
      }, {
        timeoutMs: options.timeoutMs ?? 10_000,
        what: `a ${name} frame (got ${frames.map((f) => f.name).join(", ")})`,
      });
    },
    close: () => ws.close(),
  };
  return client;
}

/** Decodes the payload of a successful RPC response. */
export function payloadOf<D extends DescMessage>(schema: D, response: SatRpcResponse) {
  if (response.result.case !== "message") {
    throw new Error(`RPC ${response.method} failed: ${JSON.stringify(response.result.value)}`);
  }
  return fromBinary(schema, response.result.value);
}

/** An unsigned token like the real client's insecure helper makes. */
export function insecureToken(claims: Record<string, unknown>): string {
  const b64 = (value: unknown) =>
    btoa(JSON.stringify(value)).replace(/=+$/, "").replace("+", "-").replace("/", "_");
  return `${b64({ alg: "none" })}.${b64(claims)}.`;
}
