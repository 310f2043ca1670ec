/**
 * Figures of the metrics-cost benchmark (issue 13, point 4): what each is and which way is
 * better, the table of medians with metrics off and on, per-run ratios and the run-to-run
 * spread, the verdict (a cost counts only beyond the spread of the runs), and the "Metrics and
 * status page cost" section of docs/benchmarks.md (one subsection per service runtime).
 */
import { runtimeLines, writeSubsection } from "../doc_section.ts";

export interface Labels {
  rows: number;
  clients: number;
  fanRate: number;
  writers: number;
  rate: number;
}

interface Spec {
  id: string;
  label: (l: Labels) => string;
  unit: string;
  digits: number;
  /** "higher": throughput; "lower": latency, CPU, memory; "none": a gauge of the noise. */
  better: "higher" | "lower" | "none";
}

const n = (v: number) => v.toLocaleString("en-US");

/** A figure where lower is better, in `unit` with `digits` decimals. */
const lower = (unit: string, digits: number) => (id: string, label: Spec["label"]): Spec => ({
  id,
  label,
  unit,
  digits,
  better: "lower",
});
const ms = lower("ms", 2);
const seconds = lower("s", 2);
const mb = lower("MB", 0);
const coreShare = lower("% of a core", 1);

export const FIGURES: Spec[] = [
  {
    id: "a.raw",
    label: (l) => `a: initial sync of ${n(l.rows)} rows, one raw client`,
    unit: "rows/s",
    digits: 0,
    better: "higher",
  },
  ms("b.raw.p50", () => "b: commit → that client, p50 (30 writes/s)"),
  ms("b.raw.p99", () => "b: … p99"),
  mb("g.synced", () => "a: service RSS a second after the sync"),
  seconds("ab.cpu_s", () => "a/b: service CPU, start → stop"),
  seconds("d.sync_s", (l) => `d: ${n(l.clients)} clients subscribe to one shape → all synced`),
  ms("d.p50", (l) => `d: commit → each of ${n(l.clients)} clients, p50 (${l.fanRate} writes/s)`),
  ms("d.p99", () => "d: … p99"),
  coreShare("d.cpu_service", () => "d: service CPU while writing"),
  seconds("d.cpu_s", () => "d: service CPU, start → stop"),
  mb("d.rss", () => "d: service peak RSS (VmHWM)"),
  {
    id: "w.tps",
    label: (l) => `writes: ${l.writers} clients, closed loop, client txn/s`,
    unit: "txn/s",
    digits: 0,
    better: "higher",
  },
  ms("w.p50", () => "writes: … write → echo p50"),
  ms("w.p99", () => "writes: … p99"),
  lower("ms", 3)("w.cpu_ms_per_txn", () => "writes: … service CPU per echoed transaction"),
  ms("w.rate.p50", (l) => `writes: ${n(l.rate)} txn/s over ${l.writers} clients, write → echo p50`),
  ms("w.rate.p99", () => "writes: … p99"),
  coreShare("w.rate.cpu", () => "writes: … service CPU at that rate"),
  seconds("w.cpu_s", () => "writes: service CPU, start → stop"),
  {
    id: "w.plain",
    label: (l) => `writes: plain Postgres, ${l.writers} connections (no service; noise gauge)`,
    unit: "txn/s",
    digits: 0,
    better: "none",
  },
];

/** Lost samples, shown as counts (the latency figures count them as infinite). */
export const LOST = ["b.raw.lost", "d.lost", "w.rate.lost"];

export interface Summary {
  off: Record<string, number>;
  on: Record<string, number>;
  /** on / off of the medians. */
  ratio: Record<string, number>;
  /** on / off of each run. */
  runRatios: Record<string, number[]>;
  /** (max − min) / median of the runs, per arm. */
  spread: { off: Record<string, number>; on: Record<string, number> };
}

export function fmt(v: number | undefined, digits: number): string {
  if (v === undefined || Number.isNaN(v)) return "—";
  if (!Number.isFinite(v)) return "∞";
  return v.toLocaleString("en-US", {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

const pct = (v: number) => Number.isFinite(v) ? `${Math.round(v * 100)}%` : "—";

/** How much worse "on" is than "off" (positive: a cost), as a fraction. */
export function cost(spec: Spec, summary: Summary): number {
  const ratio = summary.ratio[spec.id];
  return spec.better === "higher" ? 1 / ratio - 1 : ratio - 1;
}

/** The larger run-to-run spread of the two arms. */
export function noise(spec: Spec, summary: Summary): number {
  return Math.max(summary.spread.off[spec.id] ?? NaN, summary.spread.on[spec.id] ?? NaN);
}

/** "no cost", "inside noise", "cost +x%" or "—". */
export function judge(spec: Spec, summary: Summary): string {
  if (spec.better === "none") return "";
  const c = cost(spec, summary);
  const band = noise(spec, summary);
  if (!Number.isFinite(c) || !Number.isFinite(band)) return "—";
  if (c <= 0) return "no cost";
  if (c <= band) return "inside noise";
  return `cost +${pct(c)}`;
}

export function renderTable(summary: Summary, labels: Labels): string[] {
  const lines = [
    "| Figure | Metrics off | Metrics on | On/off | On/off per run | Spread of runs, off / on | Verdict |",
    "|---|---:|---:|---:|---|---|---|",
  ];
  for (const spec of FIGURES) {
    const unit = spec.unit ? ` ${spec.unit}` : "";
    const runs = (summary.runRatios[spec.id] ?? []).map((r) => fmt(r, 2)).join(", ");
    lines.push(
      `| ${spec.label(labels)} | ${fmt(summary.off[spec.id], spec.digits)}${unit} | ${
        fmt(summary.on[spec.id], spec.digits)
      }${unit} | ${fmt(summary.ratio[spec.id], 2)} × | ${runs} | ${
        pct(summary.spread.off[spec.id])
      } / ${pct(summary.spread.on[spec.id])} | ${judge(spec, summary)} |`,
    );
  }
  const lost = LOST.map((id) => `${id} ${fmt(summary.off[id], 0)} / ${fmt(summary.on[id], 0)}`);
  lines.push("", `Lost samples (median, off / on): ${lost.join("; ")}.`);
  return lines;
}

/** One line: nothing measurable, or which figures cost more than their noise. */
export function verdict(summary: Summary): { measurable: boolean; line: string } {
  const judged = FIGURES.filter((f) => f.better !== "none");
  const over = judged.filter((f) => judge(f, summary).startsWith("cost"));
  const unknown = judged.filter((f) => judge(f, summary) === "—");
  const describe = (f: Spec) =>
    `${f.id} ${fmt(summary.ratio[f.id], 2)} × (spread of runs up to ${pct(noise(f, summary))})`;
  const plain = summary.ratio["w.plain"];
  const gauge = Number.isFinite(plain)
    ? ` Plain Postgres, which the switch cannot touch, moved by ${
      fmt(plain, 2)
    } × between the arms.`
    : "";
  if (unknown.length === judged.length) {
    return {
      measurable: false,
      line: `**Not judged**: one run per arm has no spread to compare with.${gauge}`,
    };
  }
  if (over.length === 0) {
    return {
      measurable: false,
      line:
        `**Nothing measurable**: every figure with metrics on is within the run-to-run spread ` +
        `of metrics off${
          unknown.length > 0 ? ` (not judged: ${unknown.map((f) => f.id).join(", ")})` : ""
        }.${gauge}`,
    };
  }
  return {
    measurable: true,
    line: `**Beyond the noise**: ${over.map(describe).join("; ")}; every other figure within ` +
      `the spread of its runs.${gauge}`,
  };
}

export interface DocInput {
  runtime: string;
  command: string;
  meta: string[];
  summary: Summary;
  labels: Labels;
  notes: string[];
}

const INTRO = [
  "## Metrics and status page cost",
  "",
  "What the metrics and the status page cost on the read and write paths (issue 13, point 4),",
  "measured by `scripts/bench/metrics_cost.ts` with the sync and client-writes harnesses",
  "(`scripts/bench/sync/`, `scripts/bench/client_writes/`): scenario a/b of the sync benchmark",
  "(initial sync of a whole table by one raw client, then paced single-row writes to it),",
  "scenario d (many clients on one small shape, every write reaching every client) and the",
  "client-writes run in `direct_writes` (closed loop, then a fixed total rate). Each is run twice",
  "per round on a fresh database and a fresh service, once per arm, the order of the arms",
  "alternating between rounds:",
  "",
  "- **Metrics off**: `ELECTRIC_METRICS=false`: no registry, no `/metrics`, no StatsD, no status",
  "  page sampler, no runtime-metrics timer (the Satellite side still counts into a registry no",
  "  one reads).",
  "- **Metrics on**: what an operator runs: the defaults (`ELECTRIC_METRICS=true`, the status",
  "  page's sampler at `METRICS_MEASUREMENT_PERIOD=2000`), `STATSD_HOST` at a UDP socket the",
  "  benchmark opens and drains, and a scraper in the benchmark process: `GET /metrics` and",
  "  `GET /api/status?format=json` once a second each for the service's whole life (a Prometheus",
  "  scrape and the status page open in a browser, which itself polls every 2 s).",
  "",
  "Service CPU start → stop is read from `/proc` just before each service is stopped (it includes",
  "start-up and the idle seconds around the measured phases, the same in both arms); the write run",
  "also reads it around each load (closed loop: per echoed transaction; fixed rate: share of a",
  "core), since a faster closed loop does more work. A figure",
  'counts as a cost only when "on" is worse than "off" by more than the spread of the runs (max −',
  "min over median, the larger of the two arms); plain Postgres in the write run, which the switch",
  "cannot affect, shows how much the machine alone moves between arms.",
  "",
  "The machine is shared with other work: before each arm the benchmark waits until the whole",
  "machine has been at most 25% busy for 3 s (`--quiet`), and a first a/b run, not counted, warms",
  "the caches up. The Satellite side counts in both arms, so its per-frame increments are not part",
  "of the difference.",
];

export function writeMetricsCostDoc(input: DocInput): void {
  writeSubsection({ name: "metrics-cost", intro: INTRO, keys: ["bun", "deno", "binary"] }, {
    key: input.runtime,
    lines: runtimeLines(input.runtime, {
      command: input.command,
      meta: input.meta,
      body: [
        ...renderTable(input.summary, input.labels),
        "",
        `Verdict: ${verdict(input.summary).line}`,
      ],
      notes: input.notes,
    }),
  });
}
