/**
 * One run of the client-writes benchmark, on its own temporary cluster (fsync off), a fresh
 * database and a fresh service: for each client count the closed loop and its plain baseline,
 * then the largest count at a fixed total rate. Shared by scripts/bench/client_writes.ts and
 * scripts/bench/metrics_cost.ts (which adds service variables and a scraper via `extras`).
 */
import {
  type BenchService,
  connectSql,
  cpuSeconds,
  electrifyTable,
  freshDatabase,
  type Runtime,
  type ServiceExtras,
  startBenchService,
  startServer,
  withExtras,
} from "../sync/env.ts";
import { closedLoop, fixedRate, type LoadResult, plainClosedLoop } from "./loads.ts";
import { connectWriters, CREATE_TABLE } from "./writing_clients.ts";

export interface RunOptions {
  runtime: Runtime;
  mode: string;
  /** Client counts of the closed loop, in order; the largest also writes at `rate`. */
  clients: number[];
  seconds: number;
  rate: number;
  /** Progress lines (stderr). */
  log: (line: string) => void;
  extras?: ServiceExtras;
}

export interface RunFigures {
  closed: Record<number, { service: LoadResult; plain: LoadResult }>;
  rate: LoadResult;
  /**
   * The service's CPU over each load (closed loop by client count, and "rate"), warm-up and
   * drain included, with the wall time and the transactions echoed meanwhile.
   */
  serviceCpu: Record<string, { seconds: number; wallSeconds: number; transactions: number }>;
}

export async function clientWritesRun(run: number, o: RunOptions): Promise<RunFigures> {
  const server = await startServer();
  const db = await freshDatabase(server, `w${run}`);
  const sql = connectSql(db.url, Math.max(...o.clients));
  let service: BenchService | undefined;
  const figures: RunFigures = {
    closed: {},
    rate: { transactionsPerSecond: 0, p50: NaN, p99: NaN, lost: 0 },
    serviceCpu: {},
  };
  try {
    await sql.unsafe(CREATE_TABLE);
    service = withExtras(
      await startBenchService(db.url, o.runtime, undefined, {
        ELECTRIC_WRITE_TO_PG_MODE: o.mode,
        ...o.extras?.env,
      }),
      o.extras,
    );
    await electrifyTable(sql, service, "client_writes");
    const writers = await connectWriters("127.0.0.1", service.port, Math.max(...o.clients));
    const pid = service.pid;
    const measure = async <T>(key: string, load: () => Promise<T>): Promise<T> => {
      const echoed = () => writers.reduce((sum, w) => sum + w.echoed, 0);
      const before = { cpu: cpuSeconds(pid), at: performance.now(), echoed: echoed() };
      const result = await load();
      figures.serviceCpu[key] = {
        seconds: cpuSeconds(pid) - before.cpu,
        wallSeconds: (performance.now() - before.at) / 1000,
        transactions: echoed() - before.echoed,
      };
      return result;
    };
    try {
      for (const count of o.clients) {
        const closed = await measure(
          String(count),
          () => closedLoop(writers.slice(0, count), o.seconds),
        );
        o.log(
          `run ${run}: ${count} clients: ${Math.round(closed.transactionsPerSecond)} txn/s, ` +
            `p50 ${closed.p50.toFixed(2)} ms, p99 ${closed.p99.toFixed(2)} ms, lost ${closed.lost}`,
        );
        const plain = await plainClosedLoop(sql, count, o.seconds);
        o.log(
          `run ${run}: plain, ${count} connections: ${
            Math.round(plain.transactionsPerSecond)
          } txn/s`,
        );
        figures.closed[count] = { service: closed, plain };
      }
      figures.rate = await measure("rate", () => fixedRate(writers, o.rate, o.seconds));
      o.log(
        `run ${run}: ${o.rate} txn/s over ${writers.length} clients: p50 ${
          figures.rate.p50.toFixed(2)
        } ms, ` +
          `p99 ${figures.rate.p99.toFixed(2)} ms, lost ${figures.rate.lost}`,
      );
      const problems = writers.flatMap((w) => w.light.errors);
      if (problems.length > 0) throw new Error(`client errors: ${problems.slice(0, 3).join("; ")}`);
    } finally {
      for (const writer of writers) writer.close();
    }
  } finally {
    await service?.stop();
    await sql.end();
    await db.drop();
    await server.stop();
  }
  return figures;
}
