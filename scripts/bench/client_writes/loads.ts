/**
 * The loads of the client-writes benchmark: writing clients in a closed loop (each sends its
 * next one-operation transaction as soon as the echo of the previous one is back), writing
 * clients at a fixed total rate (latency), and the plain baseline (the same number of Postgres
 * connections, each committing one-row INSERT transactions in a closed loop, one round trip
 * per transaction as the service's writer does).
 */
import type postgres from "postgres";
import { settle, until } from "../sync/context.ts";
import { percentile } from "../sync/writer.ts";
import type { WritingClient } from "./writing_clients.ts";

export interface LoadResult {
  transactionsPerSecond: number;
  p50: number;
  p99: number;
  /** Writes whose echo never came (within 30 s of the end). */
  lost: number;
}

/** Latencies recorded between `start()` and `stop()`. */
class Recorder {
  samples: number[] = [];
  #on = false;
  start(): void {
    this.#on = true;
  }
  stop(): void {
    this.#on = false;
  }
  note = (ms: number): void => {
    if (this.#on) this.samples.push(ms);
  };
}

/** Records for `seconds` after `warmUpMs`; returns the seconds the window really lasted. */
async function timedWindow(recorder: Recorder, warmUpMs: number, seconds: number) {
  await settle(warmUpMs);
  recorder.start();
  const started = performance.now();
  await settle(seconds * 1000);
  recorder.stop();
  return (performance.now() - started) / 1000;
}

function summary(samples: number[], seconds: number, lost: number): LoadResult {
  const sorted = samples.toSorted((a, b) => a - b);
  return {
    transactionsPerSecond: samples.length / seconds,
    p50: percentile(sorted, lost, 50),
    p99: percentile(sorted, lost, 99),
    lost,
  };
}

/** Every client keeps one write in flight for `warmUpMs` + `seconds`; the window is timed. */
export async function closedLoop(
  clients: readonly WritingClient[],
  seconds: number,
  warmUpMs = 1_000,
): Promise<LoadResult> {
  const recorder = new Recorder();
  let running = true;
  for (const client of clients) {
    client.onEcho = (ms) => {
      recorder.note(ms);
      if (running) client.write();
    };
  }
  for (const client of clients) client.write();
  const elapsed = await timedWindow(recorder, warmUpMs, seconds);
  running = false;
  const lost = await drain(clients);
  return summary(recorder.samples, elapsed, lost);
}

/** `rate` writes per second in total, spread round-robin over the clients, for `seconds`. */
export async function fixedRate(
  clients: readonly WritingClient[],
  rate: number,
  seconds: number,
  warmUpMs = 1_000,
): Promise<LoadResult> {
  const recorder = new Recorder();
  for (const client of clients) client.onEcho = recorder.note;
  const tickMs = 5;
  let next = 0;
  let due = 0;
  const begun = performance.now();
  const timer = setInterval(() => {
    // Catch up on ticks a busy event loop delayed, so the rate holds.
    const target = Math.floor(((performance.now() - begun) / 1000) * rate);
    for (; due < target; due++) {
      clients[next].write();
      next = (next + 1) % clients.length;
    }
  }, tickMs);
  await settle(warmUpMs);
  recorder.start();
  const measuredFrom = performance.now();
  await settle(seconds * 1000);
  clearInterval(timer);
  const elapsed = (performance.now() - measuredFrom) / 1000;
  const lost = await drain(clients);
  recorder.stop();
  return summary(recorder.samples, elapsed, lost);
}

/** Waits (up to 30 s) for the echoes still due; returns how many never came. */
async function drain(clients: readonly WritingClient[]): Promise<number> {
  await until(() => clients.every((c) => c.inFlight === 0), 30_000);
  for (const client of clients) client.onEcho = undefined;
  return clients.reduce((sum, c) => sum + c.inFlight, 0);
}

/** Keys stay unique across calls on one table. */
let plainRounds = 0;

/**
 * `connections` Postgres connections, each committing `BEGIN; INSERT one row; COMMIT` in one
 * round trip, back to back, for `seconds` after a warm-up.
 */
export async function plainClosedLoop(
  sql: postgres.Sql,
  connections: number,
  seconds: number,
  warmUpMs = 1_000,
): Promise<LoadResult> {
  await sql`CREATE TABLE IF NOT EXISTS plain_writes (id text PRIMARY KEY, client int4, n int4)`;
  const recorder = new Recorder();
  let running = true;
  const round = ++plainRounds;
  const loop = async (connection: number) => {
    // A connection of its own: postgres.js refuses transaction commands on a shared pool.
    const own = await sql.reserve();
    let n = 0;
    while (running) {
      n++;
      const sent = performance.now();
      await own.unsafe(
        `BEGIN; INSERT INTO plain_writes VALUES ('${round}-${connection}-${n}', ${connection}, ${n}); COMMIT`,
      );
      recorder.note(performance.now() - sent);
    }
    own.release();
  };
  const loops = Array.from({ length: connections }, (_, i) => loop(i));
  const elapsed = await timedWindow(recorder, warmUpMs, seconds);
  running = false;
  await Promise.all(loops);
  return summary(recorder.samples, elapsed, 0);
}
