/**
 * What the seeded fuzz tests in `tests/e2e/*_fuzz_test.ts` share: a small seedable generator
 * (mulberry32) with byte helpers, the FUZZ_SEED / FUZZ_INPUTS / FUZZ_LANES / FUZZ_DEBUG
 * settings, a tally of outcomes, a runner that spreads inputs over a few concurrent lanes and
 * names the input that failed, and a raw TCP peer whose waits follow socket events under a
 * deadline (a deadline passed is a hang, and fails the test). The service they aim at is
 * fuzz_service.ts; Postgres wire pieces are pg_fuzz.ts.
 *
 * Inputs are drawn per index (`Fuzz.forInput(seed, index)`), so one input can be rebuilt from
 * the seed and the index a failure names, whatever lane or batch it ran in.
 */
import { connect, type Socket } from "node:net";
import process from "node:process";

/** mulberry32: small, seedable, good enough to spread inputs. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const encoder = new TextEncoder();

/** Draws from one seeded sequence. */
export class Fuzz {
  readonly next: () => number;

  constructor(seed: number) {
    this.next = random(seed);
  }

  /** The generator of input `index` of a run seeded with `seed`. */
  static forInput(seed: number, index: number): Fuzz {
    return new Fuzz((seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0);
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(list: readonly T[]): T {
    return list[this.int(list.length)];
  }

  bytes(n: number): Uint8Array {
    return Uint8Array.from({ length: n }, () => this.int(256));
  }

  /** `n` characters drawn from `alphabet` (default: printable ASCII). */
  text(n: number, alphabet?: string): string {
    if (alphabet === undefined) {
      return String.fromCharCode(...Array.from({ length: n }, () => 0x20 + this.int(95)));
    }
    return Array.from({ length: n }, () => alphabet[this.int(alphabet.length)]).join("");
  }

  /** A copy of `bytes` with 1 to `most` bits flipped. */
  flipBits(bytes: Uint8Array, most = 3): Uint8Array {
    const out = bytes.slice();
    if (out.length === 0) return out;
    for (let flips = 1 + this.int(most); flips > 0; flips--) {
      out[this.int(out.length)] ^= 1 << this.int(8);
    }
    return out;
  }

  /** An unsigned 32-bit value, biased towards the edges (0, 1, small, max, sign bit). */
  u32(): number {
    switch (this.int(6)) {
      case 0:
        return this.pick([0, 1, 2, 3, 4, 5, 7, 8, 9]);
      case 1:
        return this.pick([0xffffffff, 0x7fffffff, 0x80000000, 0xfffffffe]);
      case 2:
        return this.int(256);
      case 3:
        return this.int(65536);
      default:
        return Math.floor(this.next() * 2 ** 32) >>> 0;
    }
  }
}

export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** Big-endian 32-bit. */
export function be32(value: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, value >>> 0);
  return out;
}

export function hex(bytes: Uint8Array, max = 256): string {
  const shown = Array.from(bytes.subarray(0, max), (b) => b.toString(16).padStart(2, "0"));
  return shown.join("") + (bytes.length > max ? `… (${bytes.length} bytes)` : "");
}

/** Longest wait for an answer to an input (a hang past it fails the test). */
export const ANSWER_MS = 15_000;

export interface FuzzSettings {
  seed: number;
  inputs: number;
  /** FUZZ_LANES: how many inputs run at a time (inLanes). */
  lanes: number;
  /** FUZZ_DEBUG: print inputs whose outcome is unusual. */
  debug: boolean;
}

export function fuzzSettings(
  defaultSeed: number,
  defaults: { inputs?: number; lanes?: number } = {},
): FuzzSettings {
  return {
    seed: Number(process.env.FUZZ_SEED ?? defaultSeed),
    inputs: Number(process.env.FUZZ_INPUTS ?? defaults.inputs ?? 10_000),
    lanes: Number(process.env.FUZZ_LANES ?? defaults.lanes ?? 8),
    debug: Boolean(process.env.FUZZ_DEBUG),
  };
}

/** Outcomes by kind. */
export class Tally {
  readonly #counts = new Map<string, number>();
  readonly #debug: boolean;

  /** `debug` (FUZZ_DEBUG): `note` prints unusual outcomes. */
  constructor(debug = false) {
    this.#debug = debug;
  }

  add(kind: string): void {
    this.#counts.set(kind, (this.#counts.get(kind) ?? 0) + 1);
  }

  /** Counts `kind`; in debug, prints it with the input when the outcome is `unusual`. */
  note(kind: string, outcome: { input?: Uint8Array; unusual: boolean }): void {
    this.add(kind);
    if (outcome.unusual && this.#debug) {
      console.log(kind, outcome.input ? hex(outcome.input) : "");
    }
  }

  get(kind: string): number {
    return this.#counts.get(kind) ?? 0;
  }

  kinds(): string[] {
    return [...this.#counts.keys()];
  }

  get total(): number {
    let n = 0;
    for (const count of this.#counts.values()) n += count;
    return n;
  }

  toString(): string {
    return [...this.#counts].sort(([a], [b]) => a.localeCompare(b))
      .map(([kind, n]) => `${kind}: ${n}`).join(", ");
  }
}

/**
 * Runs `run(index, lane)` for every index in [0, count), `lanes` at a time; lane `l` takes the
 * indexes `l, l + lanes, …` in order, so a lane's sequence does not depend on timing. The first
 * failure stops the other lanes at their next input and is rethrown.
 */
export async function inLanes(
  count: number,
  lanes: number,
  run: (index: number, lane: number) => Promise<void>,
): Promise<void> {
  let failed = false;
  await Promise.all(Array.from({ length: Math.min(lanes, count) }, async (_, lane) => {
    try {
      for (let index = lane; index < count && !failed; index += lanes) await run(index, lane);
    } catch (error) {
      failed = true;
      throw error;
    }
  }));
}

/**
 * Runs `run(index, lane)` for each of `indexes` (or each index in [0, indexes)) in `lanes`
 * (inLanes). A failure is rethrown with the input named, its index and the seed (what rebuilds
 * it), and `context()` after its message (e.g. the service's output).
 */
export async function runInputs(
  indexes: number | readonly number[],
  run: (index: number, lane: number) => Promise<void>,
  options: { seed: number; lanes: number; context: () => string | Promise<string> },
): Promise<void> {
  const count = typeof indexes === "number" ? indexes : indexes.length;
  const indexAt = (i: number) => typeof indexes === "number" ? i : indexes[i];
  await inLanes(count, options.lanes, async (i, lane) => {
    const index = indexAt(i);
    try {
      await run(index, lane);
    } catch (error) {
      (error as Error).message =
        `input ${index} (seed ${options.seed}): ${(error as Error).message}` +
        await options.context();
      throw error;
    }
  });
}

/** Thrown when the peer neither answered nor closed in time. */
export class HangError extends Error {
  readonly code = "HANG";
}

/**
 * A client socket that keeps what it received; `until` waits for a condition on it, woken by
 * socket events (never by polling), and throws a `HangError` past its deadline.
 */
export class RawPeer {
  readonly #socket: Socket;
  #received: Uint8Array = new Uint8Array(0);
  #wake: (() => void) | undefined;
  closed = false;
  /** The peer reset the connection (rather than ending it). */
  reset = false;

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.on("data", (chunk: Uint8Array) => {
      this.#received = concat(this.#received, chunk);
      this.#wake?.();
    });
    socket.on("error", () => this.reset = true);
    socket.on("close", () => {
      this.closed = true;
      this.#wake?.();
    });
  }

  static connect(port: number, host = "127.0.0.1"): Promise<RawPeer> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port }, () => {
        socket.off("error", reject);
        resolve(new RawPeer(socket));
      });
      socket.setNoDelay(true);
      socket.once("error", reject);
    });
  }

  /** Everything received and not yet taken. */
  get received(): Uint8Array {
    return this.#received;
  }

  /** Drops the first `n` received bytes. */
  take(n: number): Uint8Array {
    const out = this.#received.subarray(0, n);
    this.#received = this.#received.subarray(n);
    return out;
  }

  write(bytes: Uint8Array | string): void {
    if (!this.closed && !this.#socket.destroyed) this.#socket.write(bytes);
  }

  /** Half-closes: no more bytes from this side. */
  end(): void {
    if (!this.closed) this.#socket.end();
  }

  destroy(): void {
    this.#socket.destroy();
  }

  /** Resolves with the first truthy `probe()`, checked now and after every socket event. */
  async until<T>(
    probe: () => T | undefined | false,
    timeoutMs: number,
    what: string,
  ): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = probe();
      if (value) return value;
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new HangError(`No ${what} within ${timeoutMs} ms (received ${hex(this.#received)})`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = undefined;
    }
  }

  /** Waits until the peer closed the connection. */
  async closes(timeoutMs: number): Promise<void> {
    await this.until(() => this.closed, timeoutMs, "close");
  }
}
