/**
 * The HTTP port under Deno. `Deno.serve` has no header-read or idle timeout (a client that
 * sends half a request head, or nothing, holds its connection forever), so the public port is
 * a plain TCP listener that relays each connection to `Deno.serve` on a private Unix socket
 * and closes the ones whose deadlines pass (`http_watch.ts`). Once the server switched
 * protocols the relay follows WebSocket frame headers (`ws_frames.ts`): a client message over
 * the limit is answered with close 1009 as Bun answers it (Deno's own limit is 64 MiB and it
 * drops the connection without a close frame).
 *
 * Cost: one more hop per byte. 50 WebSocket clients (another process) each receiving 8,000
 * 100-byte messages got about 140k messages/s through the relay against 210k–420k from
 * `Deno.serve` directly; the compiled binary and the container image run on Bun, which needs
 * no relay.
 */
import type { ServeResult } from "./types.ts";
import { HttpConnectionWatch, type HttpDeadlines } from "./http_watch.ts";
import { closeFrame, FrameCursor, MESSAGE_TOO_BIG } from "./ws_frames.ts";

/** How often deadlines are looked at; a deadline is enforced within this much of passing. */
const SWEEP_MS = 500;
const RELAY_BUFFER = 64 * 1024;
/** How long a refused client gets to read its close frame and close. */
const CLOSE_GRACE_MS = 2000;
const REQUEST_TIMEOUT = new TextEncoder().encode(
  "HTTP/1.1 408 Request Timeout\r\nconnection: close\r\ncontent-length: 0\r\n\r\n",
);

interface Relayed {
  client: Deno.Conn;
  upstream?: Deno.Conn;
  watch: HttpConnectionWatch;
  closed: boolean;
  /** WebSocket frames from the client, once its upgrade request is complete. */
  clientFrames?: FrameCursor;
  /** WebSocket frames to the client, once the server switched protocols. */
  serverFrames?: FrameCursor;
  /** Bytes to the client are being written right now. */
  writingToClient: boolean;
  /** A close frame waits for the next frame boundary towards the client. */
  closeDue?: Uint8Array;
  /** The close frame is out: nothing more goes to the client; the refusal ends the relay. */
  refusing: boolean;
}

export interface FrontOptions {
  port: number;
  hostname: string;
  deadlines: HttpDeadlines;
  /** Largest WebSocket message a client may send. */
  maxMessageBytes: number;
  /** Starts the real server on `path`; returns how to shut it down. */
  serveUnix(path: string): { shutdown(): Promise<void> };
}

export function serveBehindFront(options: FrontOptions): ServeResult {
  let listener: Deno.TcpListener;
  try {
    listener = Deno.listen({ hostname: options.hostname, port: options.port, transport: "tcp" });
  } catch (error) {
    const code = error instanceof Deno.errors.AddrInUse ? "ADDRESS_IN_USE" : "LISTEN_FAILED";
    return { ok: false, error: { code, message: String(error) } };
  }
  let directory: string;
  let inner: { shutdown(): Promise<void> };
  try {
    directory = Deno.makeTempDirSync({ prefix: "electric-http-" });
    inner = options.serveUnix(`${directory}/http.sock`);
  } catch (error) {
    listener.close();
    return { ok: false, error: { code: "LISTEN_FAILED", message: String(error) } };
  }
  const path = `${directory}/http.sock`;
  const watched = new Set<Relayed>();
  const all = new Set<Relayed>();
  let stopped = false;

  const close = (relayed: Relayed) => {
    if (relayed.closed) return;
    relayed.closed = true;
    watched.delete(relayed);
    all.delete(relayed);
    for (const conn of [relayed.client, relayed.upstream]) {
      try {
        conn?.close();
      } catch {
        // Already closed.
      }
    }
  };

  const sweep = setInterval(() => {
    const now = Date.now();
    for (const relayed of watched) {
      if (relayed.watch.upgraded) {
        watched.delete(relayed);
        continue;
      }
      const verdict = relayed.watch.check(now);
      if (verdict === "ok") continue;
      if (verdict === "header_timeout") {
        relayed.client.write(REQUEST_TIMEOUT).catch(() => {}).finally(() => close(relayed));
        watched.delete(relayed);
      } else close(relayed);
    }
  }, SWEEP_MS);

  const accept = async (client: Deno.Conn) => {
    const relayed: Relayed = {
      client,
      watch: new HttpConnectionWatch(options.deadlines, Date.now()),
      closed: false,
      writingToClient: false,
      refusing: false,
    };
    all.add(relayed);
    watched.add(relayed);
    try {
      relayed.upstream = await Deno.connect({ transport: "unix", path });
    } catch {
      return close(relayed);
    }
    if (relayed.closed) return close(relayed);
    let open = 2;
    const ended = () => {
      // A refusal closes both sides itself once the client has its close frame.
      if (--open === 0 && !relayed.refusing) close(relayed);
    };
    const broken = () => relayed.refusing || close(relayed);
    void relayFromClient(relayed, options.maxMessageBytes, close).then(ended, broken);
    void relayToClient(relayed, close).then(ended, broken);
  };

  void (async () => {
    while (!stopped) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch (error) {
        if (stopped || error instanceof Deno.errors.BadResource) return;
        // Out of descriptors and the like: wait a little rather than spin.
        await new Promise((resolve) => setTimeout(resolve, 50));
        continue;
      }
      void accept(conn);
    }
  })();

  return {
    ok: true,
    server: {
      port: (listener.addr as Deno.NetAddr).port,
      close: async () => {
        if (stopped) return;
        stopped = true;
        clearInterval(sweep);
        listener.close();
        for (const relayed of [...all]) if (!relayed.watch.upgraded) close(relayed);
        await inner.shutdown();
        for (const relayed of [...all]) close(relayed);
        await Deno.remove(directory, { recursive: true }).catch(() => {});
      },
    },
  };
}

/**
 * Client → server until the client ends, then ends the server's reading side (so a
 * half-closed request still gets its answer). Throws on a broken connection.
 */
async function relayFromClient(
  relayed: Relayed,
  maxMessageBytes: number,
  close: (relayed: Relayed) => void,
): Promise<void> {
  const { client, upstream } = relayed;
  const buffer = new Uint8Array(RELAY_BUFFER);
  for (;;) {
    const n = await client.read(buffer);
    if (n === null) break;
    const chunk = buffer.subarray(0, n);
    // An upgrade the server refused leaves an ordinary HTTP connection.
    if (relayed.clientFrames && !relayed.watch.upgrading) relayed.clientFrames = undefined;
    const framesFrom = relayed.clientFrames ? 0 : relayed.watch.fromClient(chunk, Date.now());
    if (framesFrom !== undefined) {
      relayed.clientFrames ??= new FrameCursor(maxMessageBytes);
      if (relayed.clientFrames.feed(chunk, framesFrom).tooBig) {
        // Nothing of this chunk goes on: the connection ends with the protocol's answer.
        return refuseTooBig(relayed, close);
      }
    }
    await writeAll(upstream!, chunk);
  }
  await upstream!.closeWrite().catch(() => {});
}

/** Server → client, slipping a due close frame in at the next frame boundary. */
async function relayToClient(relayed: Relayed, close: (relayed: Relayed) => void): Promise<void> {
  const { client, upstream } = relayed;
  const buffer = new Uint8Array(RELAY_BUFFER);
  for (;;) {
    const n = await upstream!.read(buffer);
    if (relayed.refusing) return;
    if (n === null) break;
    const chunk = buffer.subarray(0, n);
    if (!relayed.serverFrames) {
      const framesFrom = relayed.watch.fromServer(chunk, Date.now());
      if (framesFrom !== undefined) {
        relayed.serverFrames = new FrameCursor();
        relayed.serverFrames.feed(chunk, framesFrom);
      }
    } else if (relayed.closeDue) {
      const { followed } = relayed.serverFrames.feed(chunk, 0, true);
      await writeAll(client, chunk.subarray(0, followed));
      if (relayed.serverFrames.atBoundary) return sendCloseDue(relayed, close);
      continue;
    } else relayed.serverFrames.feed(chunk);
    relayed.writingToClient = true;
    await writeAll(client, chunk);
    relayed.writingToClient = false;
    if (relayed.closeDue && relayed.serverFrames?.atBoundary) return sendCloseDue(relayed, close);
  }
  await client.closeWrite().catch(() => {});
}

async function refuseTooBig(relayed: Relayed, close: (relayed: Relayed) => void): Promise<void> {
  relayed.closeDue = closeFrame(MESSAGE_TOO_BIG, "Message too big");
  if (!relayed.writingToClient && (relayed.serverFrames?.atBoundary ?? true)) {
    await sendCloseDue(relayed, close);
  }
}

async function sendCloseDue(relayed: Relayed, close: (relayed: Relayed) => void): Promise<void> {
  if (relayed.refusing) return;
  relayed.refusing = true;
  await writeAll(relayed.client, relayed.closeDue!).catch(() => {});
  // Closing with the rest of the refused message unread would reset the connection and lose
  // the close frame on its way: read and drop until the client answers with its own close
  // frame (the closing handshake), for a little while.
  const drain = new Uint8Array(RELAY_BUFFER);
  const frames = relayed.clientFrames ?? new FrameCursor();
  const giveUp = setTimeout(() => close(relayed), CLOSE_GRACE_MS);
  try {
    for (;;) {
      const n = await relayed.client.read(drain);
      if (n === null) break;
      frames.feed(drain.subarray(0, n));
      if (frames.sawClose) break;
    }
  } catch {
    // Reset or closed by the grace timer.
  } finally {
    clearTimeout(giveUp);
    close(relayed);
  }
}

async function writeAll(to: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let written = 0; written < bytes.length;) written += await to.write(bytes.subarray(written));
}
