/**
 * What the scenarios share: the sizes (full or `--small`), the run context, the figures a
 * scenario returns, and small helpers for waiting and for starting many light clients.
 */
import {
  type BenchService,
  type Runtime,
  type Server,
  type ServiceExtras,
  startBenchService,
  withExtras,
} from "./env.ts";
import { LightClient, type LightClientOptions, type Shape } from "./light_client.ts";
import { type LatencyBook, percentile } from "./writer.ts";

export interface Sizes {
  /** Rows of the table in a, b, c (and the COPY baseline). */
  rows: number;
  /** Clients in d and idle clients in g. */
  clients: number;
  /** Clients in c. */
  cClients: number;
  /** Rows written for the bare reader and for e, in `perTx`-row transactions. */
  streamRows: number;
  perTx: number;
  /** Measured latency samples and writer rate of b, and of c and d. */
  bSamples: number;
  bRate: number;
  fanSamples: number;
  fanRate: number;
  /** Table of d: rows, and how many of them are in the shape (`value = 'hot'`). */
  dRows: number;
  dHot: number;
  /** WAL to write while the service is down in f, in bytes. */
  walBytes: number;
}

export function sizesFor(options: { small: boolean; rows: number; clients: number }): Sizes {
  if (options.small) {
    return {
      rows: 2_000,
      clients: 10,
      cClients: 5,
      streamRows: 4_000,
      perTx: 100,
      bSamples: 30,
      bRate: 50,
      fanSamples: 30,
      fanRate: 100,
      dRows: 200,
      dHot: 20,
      walBytes: 1 << 20,
    };
  }
  return {
    rows: options.rows,
    clients: options.clients,
    cClients: 100,
    streamRows: 200_000,
    perTx: 100,
    bSamples: 300,
    bRate: 30,
    fanSamples: 1_000,
    fanRate: 100,
    dRows: 1_000,
    dHot: 100,
    walBytes: 1 << 30,
  };
}

export interface Ctx {
  server: Server;
  runtime: Runtime;
  sizes: Sizes;
  /** Progress lines (stderr). */
  log: (line: string) => void;
  /** Added to every service the scenarios start (none in scripts/bench/sync.ts). */
  extras?: ServiceExtras;
}

/** The scenario's service under the run's runtime, with the run's extras. */
export async function startScenarioService(
  ctx: Ctx,
  url: string,
  port?: number,
): Promise<BenchService> {
  const service = await startBenchService(url, ctx.runtime, port, ctx.extras?.env);
  return withExtras(service, ctx.extras);
}

/**
 * Figure id → value of one run; `notes` are shown under the table; `problems` are protocol
 * errors clients saw (SatErrorResp, a scan the full decode disagrees with), also shown there
 * and counted in the result line.
 */
export interface Figures {
  values: Record<string, number>;
  notes: string[];
  problems: string[];
}

export function figures(): Figures {
  return { values: {}, notes: [], problems: [] };
}

/** Records the errors `client` saw under `scenario`. */
export function problems(out: Figures, scenario: string, client: LightClient): void {
  for (const error of client.errors) out.problems.push(`${scenario}: ${error}`);
}

export const settle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** `promise`, or a rejection naming `what` after `ms`. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Timed out after ${ms} ms: ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Waits until `done()` or `ms` passed (the caller then counts what is missing). */
export async function until(done: () => boolean, ms: number): Promise<boolean> {
  const deadline = performance.now() + ms;
  while (!done() && performance.now() < deadline) await settle(10);
  return done();
}

/**
 * `count` light clients, each connected, authenticated, replicating and (with `shape`)
 * subscribed, `concurrency` at a time. Client i reports its transactions to `onTransaction(i)`.
 */
export async function startClients(
  count: number,
  options: {
    host: string;
    port: number;
    concurrency: number;
    shape?: Shape;
    onTransaction?: (client: number, marker: number) => void;
    verifyFirst?: boolean;
  },
): Promise<{ clients: LightClient[]; rows: number[] }> {
  const clients: LightClient[] = new Array(count);
  const rows: number[] = new Array(count).fill(0);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      const clientOptions: LightClientOptions = {
        host: options.host,
        port: options.port,
        markerColumn: 2,
        verify: options.verifyFirst === true && i === 0,
        onTransaction: options.onTransaction
          ? (marker) => options.onTransaction!(i, marker)
          : undefined,
      };
      const client = await LightClient.connect(clientOptions);
      clients[i] = client;
      await client.authenticate();
      await client.startReplication();
      if (options.shape) rows[i] = (await client.subscribe(options.shape)).rows;
    }
  };
  await Promise.all(Array.from({ length: Math.min(count, options.concurrency) }, worker));
  return { clients, rows };
}

/** p50, p99 and lost samples of a latency book, into `out` under `prefix`. */
export function latencyFigures(
  out: Figures,
  prefix: string,
  result: { values: number[]; lost: number },
): void {
  const sorted = result.values.toSorted((a, b) => a - b);
  out.values[`${prefix}.p50`] = percentile(sorted, result.lost, 50);
  out.values[`${prefix}.p99`] = percentile(sorted, result.lost, 99);
  out.values[`${prefix}.lost`] = result.lost;
  out.values[`${prefix}.samples`] = sorted.length + result.lost;
}

export type { LatencyBook };

/** How many of `count` clients warm the service up before the per-client slope is measured. */
export function warmUpClients(count: number): number {
  return Math.min(count - 1, Math.max(5, Math.round(count / 10)));
}
