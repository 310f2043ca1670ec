/**
 * Client-writes benchmark: many clients, small transactions (the shape of real traffic: the
 * real client turns each local snapshot into one transaction of one to a few operations).
 *
 *   deno run -A scripts/bench/client_writes.ts --runtime <bun|deno> --mode <direct_writes|logical_replication>
 *        [--clients 1,10,100] [--seconds 5] [--rate 1000] [--runs 3] [--small] [--write-doc]
 *
 * Per run (scripts/bench/client_writes/run.ts), on a fresh database of a temporary cluster (fsync
 * off) and a fresh service:
 * - for each client count C: C writing clients in a closed loop, each sending its next
 *   one-operation transaction once the echo of the previous one is back (scripts/bench/
 *   client_writes/writing_clients.ts): client transactions/s (= operations/s) and write → echo
 *   latency; beside it the plain baseline with C Postgres connections (one round trip per
 *   transaction, as the service's writer sends them);
 * - 100 clients (the largest count) at `--rate` transactions/s in total: write → echo p50/p99.
 *   The echo leaves the service after Postgres committed the write and the stream brought it
 *   back, so this is an upper bound of write → applied in Postgres.
 * Prints a table and `client-writes-result <json>`; `--write-doc` puts it in docs/benchmarks.md.
 */
import { cpus } from "node:os";
import { benchArgs } from "./args.ts";
import { median } from "./sync/writer.ts";
import { clientWritesRun, type RunFigures } from "./client_writes/run.ts";
import { writeClientWritesDoc } from "./client_writes/report.ts";

const { argv, arg, flag, small: SMALL, runtime: RUNTIME } = benchArgs();
const MODE = arg("mode", "direct_writes");
const CLIENTS = arg("clients", SMALL ? "1,5" : "1,10,100").split(",").map(Number);
const SECONDS = Number(arg("seconds", SMALL ? "1" : "5"));
const RATE = Number(arg("rate", SMALL ? "100" : "1000"));
const RUNS = Number(arg("runs", SMALL ? "1" : "3"));
if (!["direct_writes", "logical_replication"].includes(MODE)) {
  throw new Error(`--mode must be direct_writes or logical_replication, not ${MODE}`);
}

const log = (line: string) => console.error(`[client-writes] ${line}`);

const runs: RunFigures[] = [];
for (let run = 1; run <= RUNS; run++) {
  runs.push(
    await clientWritesRun(run, {
      runtime: RUNTIME,
      mode: MODE,
      clients: CLIENTS,
      seconds: SECONDS,
      rate: RATE,
      log,
    }),
  );
}

const med = (pick: (r: RunFigures) => number) => median(runs.map(pick));
const rows = CLIENTS.map((count) => {
  const service = med((r) => r.closed[count].service.transactionsPerSecond);
  const plain = med((r) => r.closed[count].plain.transactionsPerSecond);
  return {
    clients: count,
    service,
    plain,
    ratio: med((r) =>
      r.closed[count].service.transactionsPerSecond / r.closed[count].plain.transactionsPerSecond
    ),
    p50: med((r) => r.closed[count].service.p50),
    p99: med((r) => r.closed[count].service.p99),
  };
});
const rate = {
  rate: RATE,
  clients: Math.max(...CLIENTS),
  p50: med((r) => r.rate.p50),
  p99: med((r) => r.rate.p99),
  lost: Math.max(...runs.map((r) => r.rate.lost)),
};
const result = { runtime: RUNTIME, mode: MODE, runs: RUNS, small: SMALL, rows, rate };
const table = [
  "| clients | client txn/s (= ops/s) | plain txn/s, same connections | ratio | write → echo p50 / p99 (closed loop) |",
  "|---:|---:|---:|---:|---|",
  ...rows.map((r) =>
    `| ${r.clients} | ${Math.round(r.service)} | ${Math.round(r.plain)} | ${r.ratio.toFixed(2)} | ${
      r.p50.toFixed(2)
    } / ${r.p99.toFixed(2)} ms |`
  ),
];
console.log(table.join("\n"));
console.log(
  `\n${rate.rate} txn/s over ${rate.clients} clients: write → echo p50 ${
    rate.p50.toFixed(2)
  } ms, ` +
    `p99 ${rate.p99.toFixed(2)} ms, lost ${rate.lost}`,
);
console.log(`client-writes-result ${JSON.stringify(result)}`);
if (flag("write-doc")) {
  writeClientWritesDoc({
    runtime: RUNTIME,
    mode: MODE,
    command: `deno run -A scripts/bench/client_writes.ts ${
      argv.filter((a) => a !== "--write-doc").join(" ")
    }`,
    cores: cpus().length,
    runs: RUNS,
    rows,
    rate,
  });
}
