/**
 * Deadlines for one HTTP/1.1 connection that is not (yet) a WebSocket: the request head must
 * arrive whole within `headerTimeoutMs` of its first byte being due, and a connection with no
 * bytes either way for `idleTimeoutMs` is closed. Once the server answers an upgrade with
 * `101`, the connection is a WebSocket and is no longer watched (the Satellite session has its
 * own liveness checks). Pure: the transport reports bytes and asks whether a deadline passed.
 *
 * Only bodiless requests are followed across keep-alive: after a request with a body the head
 * of the next one cannot be found without parsing the body, so from then on only the idle
 * deadline applies. The service's routes take no bodies, so this costs nothing in practice.
 */

export interface HttpDeadlines {
  /** From the moment a request head is due (connection open, or the previous request done). */
  headerTimeoutMs: number;
  /** No bytes in either direction for this long closes a connection that is not upgraded. */
  idleTimeoutMs: number;
}

/** Request heads longer than this are cut off (the server answers 431 for less anyway). */
const MAX_HEAD_BYTES = 64 * 1024;
const HEAD_END = [13, 10, 13, 10]; // CR LF CR LF

type Phase =
  /** Waiting for (the rest of) a request head. */
  | "head"
  /** A bodiless request is complete; the next byte from the client starts a new head. */
  | "between"
  /** An upgrade request is complete; the server's answer decides. */
  | "upgrade_asked"
  /** A request with a body was seen: only the idle deadline applies from here on. */
  | "untracked"
  /** The server answered 101; the rest of its head is on the way. */
  | "switching"
  /** The server switched protocols: nothing is watched any more. */
  | "upgraded";

export type WatchVerdict = "ok" | "header_timeout" | "idle_timeout";

export class HttpConnectionWatch {
  readonly #deadlines: HttpDeadlines;
  #phase: Phase = "head";
  /** The head read so far, up to `MAX_HEAD_BYTES`. */
  #head: number[] = [];
  #matched = 0;
  #headDueSince: number;
  #lastActivity: number;
  /** Leading bytes of the server's answer to an upgrade request. */
  #answer = "";

  constructor(deadlines: HttpDeadlines, now: number) {
    this.#deadlines = deadlines;
    this.#headDueSince = now;
    this.#lastActivity = now;
  }

  get upgraded(): boolean {
    return this.#phase === "upgraded";
  }

  /** An upgrade was asked for and not refused (so far). */
  get upgrading(): boolean {
    return this.#phase === "upgrade_asked" || this.#phase === "switching" ||
      this.#phase === "upgraded";
  }

  /**
   * Bytes from the client. Returns where WebSocket frames begin in them when they end the
   * head of an upgrade request.
   */
  fromClient(bytes: Uint8Array, now: number): number | undefined {
    this.#lastActivity = now;
    if (this.#phase === "between") this.#startHead(now);
    if (this.#phase !== "head") return undefined;
    for (let i = 0; i < bytes.length; i++) {
      const byte = bytes[i];
      if (this.#head.length < MAX_HEAD_BYTES) this.#head.push(byte);
      this.#matched = byte === HEAD_END[this.#matched]
        ? this.#matched + 1
        : byte === HEAD_END[0]
        ? 1
        : 0;
      if (this.#matched === HEAD_END.length) {
        this.#phase = this.#phaseAfterHead();
        if (this.#phase === "upgrade_asked") return i + 1;
        if (this.#phase !== "between" || i === bytes.length - 1) return undefined;
        // Pipelined: the next request starts right away.
        this.#startHead(now);
      }
    }
    return undefined;
  }

  /**
   * Bytes from the server. Returns where WebSocket frames begin in them when they end the
   * head of a `101` answer.
   */
  fromServer(bytes: Uint8Array, now: number): number | undefined {
    this.#lastActivity = now;
    let at = 0;
    if (this.#phase === "upgrade_asked") {
      at = Math.min(bytes.length, 12 - this.#answer.length);
      this.#answer += String.fromCharCode(...bytes.subarray(0, at));
      if (this.#answer.length < 12) return undefined;
      this.#headDueSince = now;
      if (!/^HTTP\/1\.[01] 101/.test(this.#answer)) {
        this.#phase = "between";
        return undefined;
      }
      this.#phase = "switching";
      this.#matched = 0;
    }
    if (this.#phase !== "switching") return undefined;
    for (; at < bytes.length; at++) {
      const byte = bytes[at];
      this.#matched = byte === HEAD_END[this.#matched]
        ? this.#matched + 1
        : byte === HEAD_END[0]
        ? 1
        : 0;
      if (this.#matched === HEAD_END.length) {
        this.#phase = "upgraded";
        return at + 1;
      }
    }
    return undefined;
  }

  /** Whether a deadline has passed at `now`. */
  check(now: number): WatchVerdict {
    if (this.#phase === "upgraded") return "ok";
    if (this.#phase === "head" && now - this.#headDueSince >= this.#deadlines.headerTimeoutMs) {
      return "header_timeout";
    }
    if (now - this.#lastActivity >= this.#deadlines.idleTimeoutMs) return "idle_timeout";
    return "ok";
  }

  #startHead(now: number): void {
    this.#phase = "head";
    this.#head = [];
    this.#matched = 0;
    this.#headDueSince = now;
  }

  #phaseAfterHead(): Phase {
    const text = new TextDecoder().decode(Uint8Array.from(this.#head)).toLowerCase();
    const header = (name: string) => {
      const match = text.match(new RegExp(`\\r\\n${name}:[ \\t]*([^\\r]*)`));
      return match?.[1].trim();
    };
    const length = header("content-length");
    const hasBody = header("transfer-encoding") !== undefined ||
      (length !== undefined && length !== "0");
    if (hasBody) return "untracked";
    if (header("upgrade") === undefined) return "between";
    this.#answer = "";
    return "upgrade_asked";
  }
}
