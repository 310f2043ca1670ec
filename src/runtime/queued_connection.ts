/**
 * The runtime-neutral half of a `TcpConnection`: the write queue, write coalescing, drain and
 * close bookkeeping. Each runtime file (and `node_tcp.ts`) subclasses it with the three
 * socket calls that differ: send some bytes, close, pause/resume reading.
 *
 * Coalescing: `write` only queues; one flush per turn of the event loop (a microtask) joins
 * what the turn wrote and hands it to the socket in one send. A single queued chunk is sent
 * as is, without a copy. Sends are never concurrent: a flush runs until the queue is empty,
 * awaiting asynchronous sends (Deno), or stops at a partial send and waits for the socket to
 * report it is writable again (Bun).
 */
import type { TcpConnection, TcpHandlers } from "./types.ts";

/** Queued bytes past which `write` returns false (the caller waits for `onDrain`). */
export const HIGH_WATER_MARK = 256 * 1024;

/** The outcome of one send: bytes accepted now, or a promise of the bytes accepted. */
export type SendResult = number | Promise<number>;

export abstract class QueuedConnection implements TcpConnection {
  #handlers?: TcpHandlers;
  #early: Uint8Array[] = [];
  #queue: Uint8Array[] = [];
  /** Bytes written but not yet accepted by the socket (queued or in flight). */
  #pending = 0;
  /** A flush is scheduled or running. */
  #flushing = false;
  /** The last send was partial: wait for `writable()`. */
  #blocked = false;
  #wantDrain = false;
  #ending = false;
  #closed = false;

  /** Sends from the start of `bytes`; a number below its length means "wait for writable". */
  protected abstract send(bytes: Uint8Array): SendResult;
  /** Closes the socket; `graceful` after everything queued was sent. */
  protected abstract shutdown(graceful: boolean): void;
  protected abstract pauseReading(): void;
  protected abstract resumeReading(): void;
  /** Called once by `start`: begin reading. */
  protected abstract startReading(): void;

  get isClosed(): boolean {
    return this.#closed;
  }

  start(handlers: TcpHandlers): void {
    this.#handlers = handlers;
    const early = this.#early;
    this.#early = [];
    for (const chunk of early) {
      if (this.#closed) return;
      handlers.onData(chunk);
    }
    if (!this.#closed) this.startReading();
  }

  write(bytes: Uint8Array): boolean {
    if (this.#closed || this.#ending) return false;
    if (bytes.length > 0) {
      this.#queue.push(bytes);
      this.#pending += bytes.length;
      this.#scheduleFlush();
    }
    if (this.#pending < HIGH_WATER_MARK) return true;
    this.#wantDrain = true;
    return false;
  }

  pause(): void {
    if (!this.#closed) this.pauseReading();
  }

  resume(): void {
    if (!this.#closed) this.resumeReading();
  }

  end(): void {
    if (this.#closed || this.#ending) return;
    this.#ending = true;
    if (this.#pending === 0) this.#finish(true);
    else this.#scheduleFlush();
  }

  close(): void {
    this.#finish(false);
  }

  /** Subclasses: bytes arrived (the chunk is handed over, never reused). */
  protected received(chunk: Uint8Array): void {
    if (this.#closed) return;
    if (this.#handlers) this.#handlers.onData(chunk);
    else this.#early.push(chunk);
  }

  /** Subclasses: the socket can take more bytes after a partial send. */
  protected writable(): void {
    this.#blocked = false;
    if (this.#pending > 0) this.#scheduleFlush();
  }

  /** Subclasses: the peer finished sending; flush what is queued, then close. */
  protected peerEnded(): void {
    this.end();
  }

  /** Subclasses: the socket closed or failed under us. */
  protected closedByPeer(error?: Error): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#queue = [];
    this.#pending = 0;
    this.shutdown(false);
    this.#handlers?.onClose?.(error);
  }

  #finish(graceful: boolean): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#queue = [];
    this.#pending = 0;
    this.shutdown(graceful);
    const handlers = this.#handlers;
    // Reported on a later tick, like an event: the caller of close() is mid-step.
    if (handlers?.onClose) queueMicrotask(() => handlers.onClose?.());
  }

  #scheduleFlush(): void {
    if (this.#flushing || this.#blocked) return;
    this.#flushing = true;
    queueMicrotask(() => void this.#flush());
  }

  async #flush(): Promise<void> {
    try {
      while (this.#queue.length > 0 && !this.#closed) {
        const queue = this.#queue;
        let data = queue.length === 1 ? queue[0] : join(queue);
        this.#queue = [];
        for (;;) {
          const result = this.send(data);
          const sent = typeof result === "number" ? result : await result;
          if (this.#closed) return;
          if (sent < 0) throw new Error("write to a closed socket");
          this.#pending -= sent;
          if (sent >= data.length) break;
          data = data.subarray(sent);
          if (typeof result === "number") {
            // Partial synchronous send: the socket's buffer is full until it says otherwise.
            this.#queue.unshift(data);
            this.#blocked = true;
            return;
          }
        }
      }
      if (this.#closed) return;
      if (this.#wantDrain && this.#pending < HIGH_WATER_MARK) {
        this.#wantDrain = false;
        this.#handlers?.onDrain?.();
      }
      if (this.#ending && this.#pending === 0) this.#finish(true);
    } catch (error) {
      this.closedByPeer(error instanceof Error ? error : new Error(String(error)));
    } finally {
      this.#flushing = false;
      // Written while the last send was in flight (or unblocked meanwhile).
      if (!this.#closed && !this.#blocked && this.#queue.length > 0) this.#scheduleFlush();
    }
  }
}

function join(parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** Rejects after `ms` (and closes the connection should it arrive late). */
export function withConnectTimeout(
  connecting: Promise<TcpConnection>,
  ms: number | undefined,
  what: string,
): Promise<TcpConnection> {
  if (ms === undefined) return connecting;
  return new Promise((resolve, reject) => {
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      reject(new Error(`connection to ${what} timed out`));
    }, ms);
    connecting.then((connection) => {
      clearTimeout(timer);
      if (timedOut) connection.close();
      else resolve(connection);
    }, (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}
