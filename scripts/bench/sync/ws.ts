/**
 * A bare WebSocket client over `node:net` for the sync benchmark's light clients (RFC 6455,
 * client side, binary messages only).
 *
 * Why not the runtime's `WebSocket`: a thousand of these live in one process beside the
 * measurements, and under load several server frames arrive in one TCP read. Cutting them out
 * of that chunk here costs one callback per read instead of one event (and one ArrayBuffer) per
 * message, and the payload handed to `onMessage` is a view into the read buffer: valid only
 * during the call, copied by nobody. No extensions are offered, so frames are never compressed.
 *
 * Flow: TCP connect → `GET /ws` upgrade with `Sec-WebSocket-Protocol` → `101` → frames.
 * Server pings are answered with pongs; a close frame or socket end ends the connection.
 */
import { connect as tcpConnect } from "node:net";

export interface WsOptions {
  host: string;
  port: number;
  path?: string;
  protocol?: string;
  /** One complete binary message; `data` is only valid during the call. */
  onMessage: (data: Uint8Array) => void;
  onClose?: (reason: string) => void;
}

export interface Ws {
  send(data: Uint8Array): void;
  close(): void;
  readonly closed: boolean;
}

const CRLF2 = [13, 10, 13, 10];

/** Opens the connection; resolves once the server answered the upgrade with 101. */
export function openWs(options: WsOptions): Promise<Ws> {
  const { host, port } = options;
  return new Promise((resolve, reject) => {
    const socket = tcpConnect({ host, port });
    socket.setNoDelay(true);
    let upgraded = false;
    let closed = false;
    let notified = false;
    let pending: Uint8Array | undefined;
    // A message split into continuation frames (servers here do not, but the RFC allows it).
    let fragments: Uint8Array[] | undefined;

    const ws: Ws = {
      send(data) {
        if (!closed) socket.write(maskedFrame(0x2, data));
      },
      close() {
        if (closed) return;
        closed = true;
        socket.end(maskedFrame(0x8, new Uint8Array([0x03, 0xe8])));
      },
      get closed() {
        return closed;
      },
    };

    const finish = (reason: string) => {
      // After the upgrade this rejection is a no-op (the promise is settled).
      reject(new Error(`WebSocket to ${host}:${port} failed: ${reason}`));
      closed = true;
      if (notified) return;
      notified = true;
      options.onClose?.(reason);
    };
    socket.on("error", (error) => finish(error.message));
    socket.on("close", () => finish("socket closed"));
    socket.on("connect", () => {
      const key = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
      socket.write(
        `GET ${options.path ?? "/ws"} HTTP/1.1\r\nHost: ${host}:${port}\r\n` +
          `Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\n` +
          `Sec-WebSocket-Version: 13\r\n` +
          `Sec-WebSocket-Protocol: ${options.protocol ?? "electric.0.12"}\r\n\r\n`,
      );
    });
    socket.on("data", (chunk: Uint8Array) => {
      let buf = pending ? concat(pending, chunk) : chunk;
      pending = undefined;
      if (!upgraded) {
        const end = indexOf(buf, CRLF2);
        if (end < 0) {
          pending = buf.slice();
          return;
        }
        const head = new TextDecoder().decode(buf.subarray(0, end));
        if (!/^HTTP\/1\.1 101/.test(head)) {
          socket.destroy();
          reject(new Error(`WebSocket upgrade refused: ${head.split("\r\n")[0]}`));
          return;
        }
        upgraded = true;
        resolve(ws);
        buf = buf.subarray(end + 4);
      }
      let at = 0;
      while (buf.length - at >= 2) {
        const b0 = buf[at];
        let length = buf[at + 1] & 0x7f;
        let header = 2;
        if (length === 126) {
          if (buf.length - at < 4) break;
          length = (buf[at + 2] << 8) | buf[at + 3];
          header = 4;
        } else if (length === 127) {
          if (buf.length - at < 10) break;
          length = (buf[at + 6] * 2 ** 24) + ((buf[at + 7] << 16) | (buf[at + 8] << 8) |
            buf[at + 9]);
          header = 10;
        }
        if (buf.length - at < header + length) break;
        const payload = buf.subarray(at + header, at + header + length);
        at += header + length;
        const opcode = b0 & 0x0f;
        const fin = (b0 & 0x80) !== 0;
        if (opcode === 0x2 || opcode === 0x1 || opcode === 0x0) {
          if (opcode !== 0x0 && fin) {
            options.onMessage(payload);
          } else {
            fragments = opcode === 0x0 ? fragments ?? [] : [];
            fragments.push(payload.slice());
            if (fin) {
              const whole = fragments.reduce((a, b) => concat(a, b));
              fragments = undefined;
              options.onMessage(whole);
            }
          }
        } else if (opcode === 0x9) {
          if (!closed) socket.write(maskedFrame(0xa, payload));
        } else if (opcode === 0x8) {
          socket.end();
          finish("close frame");
          return;
        }
      }
      // Keep only the unread tail; a copy, so the read buffer is not retained.
      if (at < buf.length) pending = buf.slice(at);
    });
  });
}

/** One final client frame (clients must mask; the key need not be secret here). */
function maskedFrame(opcode: number, payload: Uint8Array): Uint8Array {
  const n = payload.length;
  const header = n < 126 ? 2 : n < 65536 ? 4 : 10;
  const frame = new Uint8Array(header + 4 + n);
  frame[0] = 0x80 | opcode;
  if (header === 2) frame[1] = 0x80 | n;
  else if (header === 4) {
    frame[1] = 0x80 | 126;
    frame[2] = n >>> 8;
    frame[3] = n & 0xff;
  } else {
    frame[1] = 0x80 | 127;
    new DataView(frame.buffer).setBigUint64(2, BigInt(n));
  }
  const key = (Math.random() * 0x1_0000_0000) >>> 0;
  const mask = [key >>> 24, (key >>> 16) & 0xff, (key >>> 8) & 0xff, key & 0xff];
  frame.set(mask, header);
  const body = header + 4;
  for (let i = 0; i < n; i++) frame[body + i] = payload[i] ^ mask[i & 3];
  return frame;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function indexOf(buf: Uint8Array, needle: number[]): number {
  outer: for (let i = 0; i + needle.length <= buf.length; i++) {
    for (let j = 0; j < needle.length; j++) if (buf[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}
