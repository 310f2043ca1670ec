/**
 * The client-writes section of docs/benchmarks.md: one subsection per runtime and mode, each
 * rewritten by its own run, the others kept.
 */
import { commandLines, writeSubsection } from "../doc_section.ts";

export interface ClientWritesDoc {
  runtime: string;
  mode: string;
  command: string;
  cores: number;
  runs: number;
  rows: {
    clients: number;
    service: number;
    plain: number;
    ratio: number;
    p50: number;
    p99: number;
  }[];
  rate: { rate: number; clients: number; p50: number; p99: number; lost: number };
}

/** The subsections, in the order they appear. */
const KEYS = [
  "direct_writes:bun",
  "direct_writes:deno",
  "logical_replication:bun",
  "logical_replication:deno",
];

const INTRO = [
  "## Client writes at scale",
  "",
  "Many clients, one-operation transactions (`scripts/bench/client_writes.ts`). Each writing client",
  "is a light Satellite client: it authenticates, starts replication, answers the service's",
  "startReplication, announces the table and sends transactions inserting one row; a write is done",
  "when its echo comes back (the service sends every client its own transactions once Postgres",
  "applied them). Closed loop: every client sends its next transaction as soon as the echo of the",
  "previous one is back, 5 s timed after 1 s of warm-up. Plain baseline, same run: as many Postgres",
  "connections, each committing `BEGIN; INSERT one row; COMMIT` in one round trip (as the service's",
  "writer sends client transactions), back to back. Fixed rate: 1,000 transactions/s spread over 100",
  "clients; write → echo is an upper bound of write → applied in Postgres (the echo also crosses the",
  "replication stream). Medians of 3 runs, each on a fresh temporary cluster (fsync off).",
  "",
  "Targets (issue 16): 100 clients ≥ 50% of the plain baseline and ≥ 10,000 client transactions/s in",
  "`direct_writes`; at 1,000 transactions/s over 100 clients p50 ≤ 5 ms, p99 ≤ 25 ms.",
];

const n = (v: number) => Math.round(v).toLocaleString("en-US");

export function writeClientWritesDoc(input: ClientWritesDoc): void {
  const key = `${input.mode}:${input.runtime}`;
  const lines = [
    "",
    `### ${input.mode}, service under ${input.runtime}`,
    "",
    ...commandLines(input.command, [
      `Date: ${
        new Date().toISOString().slice(0, 10)
      }; ${input.runs} run(s), medians; ${input.cores}` +
      " cores shared by the service, Postgres and the clients.",
    ]),
    "",
    "| clients | client txn/s (= ops/s) | plain txn/s, same connections | ratio | write → echo p50 / p99 |",
    "|---:|---:|---:|---:|---|",
    ...input.rows.map((r) =>
      `| ${r.clients} | ${n(r.service)} | ${n(r.plain)} | ${r.ratio.toFixed(2)} | ${
        r.p50.toFixed(2)
      } / ${r.p99.toFixed(2)} ms |`
    ),
    "",
    `At ${
      n(input.rate.rate)
    } transactions/s over ${input.rate.clients} clients: write → echo p50 ` +
    `${input.rate.p50.toFixed(2)} ms, p99 ${
      input.rate.p99.toFixed(2)
    } ms, ${input.rate.lost} lost.`,
    "",
  ];
  writeSubsection({ name: "client-writes", intro: INTRO, keys: KEYS }, { key, lines });
}
