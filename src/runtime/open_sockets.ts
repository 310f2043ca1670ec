/**
 * The WebSockets a server has open, so that stopping the server can say goodbye to each with a
 * close frame (1001, going away) instead of cutting the TCP connection or, as Bun's
 * `stop(false)` does, waiting for every client to leave on its own. A client seeing 1001
 * reconnects (to this service once it is back, or to another instance).
 */

/** The close code for a server that is going away (RFC 6455, 7.4.1). */
export const GOING_AWAY = 1001;

export const SHUTDOWN_REASON = "Server shutting down";

/** How long a stopping server waits for clients to answer its close frames. */
export const CLOSE_HANDSHAKE_WAIT_MS = 300;

export interface ClosableSocket {
  close(code: number, reason: string): void;
}

export class OpenSockets<S extends ClosableSocket> {
  readonly #open = new Set<S>();
  #emptied?: () => void;

  get size(): number {
    return this.#open.size;
  }

  add(socket: S): void {
    this.#open.add(socket);
  }

  /** The socket's close handshake finished (or the connection dropped). */
  delete(socket: S): void {
    this.#open.delete(socket);
    if (this.#open.size === 0) this.#emptied?.();
  }

  /**
   * Sends every open socket a close frame and waits until their close handshakes finish or
   * `waitMs` passes (a peer that never answers must not hold the shutdown).
   */
  async closeAll(reason: string, waitMs: number): Promise<void> {
    if (this.#open.size === 0) return;
    const emptied = new Promise<void>((resolve) => this.#emptied = resolve);
    for (const socket of [...this.#open]) {
      try {
        socket.close(GOING_AWAY, reason);
      } catch {
        this.delete(socket);
      }
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<void>((resolve) => timer = setTimeout(resolve, waitMs));
    await Promise.race([emptied, late]);
    clearTimeout(timer);
    this.#emptied = undefined;
  }
}
