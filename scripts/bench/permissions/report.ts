/**
 * Figures of the permissions benchmark: what each is, which count for issue 17's target (with
 * permissions within 20% of without), the table of medians and ratios, the verdict line, and
 * the "Permissions (read path)" section of docs/benchmarks.md.
 */
import { commandLines, writeSection } from "../doc_section.ts";
import type { Layout } from "./setup.ts";

interface Spec {
  id: string;
  label: string;
  unit: string;
  digits: number;
  /** Counts for the target: the ratio with/without must stay ≤ 1.2. */
  target: boolean;
  /** Name in the verdict line (target figures). */
  short?: string;
}

export const LIMIT = 1.2;

export const FIGURES: Spec[] = [
  {
    id: "sync_s",
    label: "All users subscribe → last SatSubsDataEnd",
    unit: "s",
    digits: 2,
    target: true,
    short: "initial sync",
  },
  {
    id: "live.p50",
    label: "Write → member p50",
    unit: "ms",
    digits: 2,
    target: true,
    short: "live p50",
  },
  {
    id: "live.p99",
    label: "Write → member p99",
    unit: "ms",
    digits: 2,
    target: true,
    short: "live p99",
  },
  {
    id: "cpu_live_s",
    label: "Service CPU during the live phase",
    unit: "s",
    digits: 2,
    target: true,
    short: "service CPU while live",
  },
  {
    id: "rss_peak_mb",
    label: "Service peak RSS (VmHWM)",
    unit: "MB",
    digits: 0,
    target: true,
    short: "peak RSS",
  },
  {
    id: "connect_s",
    label: "All users connect, authenticate, start replication (10 at a time)",
    unit: "s",
    digits: 2,
    target: false,
  },
  {
    id: "cpu_sync_s",
    label: "Service CPU during the initial sync",
    unit: "s",
    digits: 2,
    target: false,
  },
  {
    id: "cpu_bench_sync_pct",
    label: "Benchmark process CPU during the initial sync",
    unit: "% of a core",
    digits: 0,
    target: false,
  },
  {
    id: "rss_live_mb",
    label: "Service RSS during the live phase (largest sample)",
    unit: "MB",
    digits: 0,
    target: false,
  },
  {
    id: "cpu_bench_pct",
    label: "Benchmark process CPU during the live phase",
    unit: "% of a core",
    digits: 0,
    target: false,
  },
  {
    id: "other_rows",
    label: "Rows of other tables in a user's initial data (the project row issues reference)",
    unit: "",
    digits: 1,
    target: false,
  },
  { id: "live.samples", label: "Latency samples", unit: "", digits: 0, target: false },
  { id: "live.lost", label: "Samples lost", unit: "", digits: 0, target: false },
];

export interface Summary {
  without: Record<string, number>;
  with: Record<string, number>;
  /** Median with / median without, per figure. */
  ratio: Record<string, number>;
  /** with / without of each run, per figure. */
  runRatios: Record<string, number[]>;
}

const fmt = (v: number | undefined, digits: number) =>
  v === undefined || Number.isNaN(v)
    ? "—"
    : !Number.isFinite(v)
    ? "∞"
    : v.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });

export function renderTable(summary: Summary): string[] {
  const lines = [
    "| Figure | Without permissions | With permissions | Ratio | Ratios of all runs | Within 20% |",
    "|---|---:|---:|---:|---|:---:|",
  ];
  for (const spec of FIGURES) {
    const unit = spec.unit ? ` ${spec.unit}` : "";
    const ratio = summary.ratio[spec.id];
    const runs = (summary.runRatios[spec.id] ?? []).map((r) => fmt(r, 2)).join(", ");
    const counted = ["live.lost", "live.samples", "other_rows"].includes(spec.id);
    lines.push(
      `| ${spec.label} | ${fmt(summary.without[spec.id], spec.digits)}${unit} | ${
        fmt(summary.with[spec.id], spec.digits)
      }${unit} | ${counted ? "" : `${fmt(ratio, 2)} ×`} | ${counted ? "" : runs} | ${
        spec.target ? (ratio <= LIMIT ? "yes" : "no") : ""
      } |`,
    );
  }
  return lines;
}

/** "met" when every target figure's ratio is ≤ 1.2, with the figures either way. */
export function verdict(summary: Summary): { met: boolean; line: string } {
  const counted = FIGURES.filter((f) => f.target);
  const over = counted.filter((f) => !(summary.ratio[f.id] <= LIMIT));
  const describe = (f: Spec) =>
    `${f.short ?? f.label} ${fmt(summary.with[f.id], f.digits)} vs ${
      fmt(summary.without[f.id], f.digits)
    } ${f.unit} (${fmt(summary.ratio[f.id], 2)} ×)`;
  if (over.length === 0) {
    return {
      met: true,
      line: `**met**: every figure with permissions within 20% of without: ${
        counted.map(describe).join("; ")
      }.`,
    };
  }
  const within = counted.filter((f) => summary.ratio[f.id] <= LIMIT);
  return {
    met: false,
    line: `**missed**: ${over.map(describe).join("; ")}${
      within.length > 0 ? `; within 20%: ${within.map(describe).join("; ")}` : ""
    }.`,
  };
}

export interface DocInput {
  command: string;
  layout: Layout;
  rate: number;
  seconds: number;
  runs: number;
  meta: string[];
  summary: Summary;
}

const BEGIN = "<!-- permissions:begin -->";
const END = "<!-- permissions:end -->";

export function writePermissionsDoc(input: DocInput): void {
  const { layout } = input;
  const n = (v: number) => v.toLocaleString("en-US");
  const users = layout.projects * layout.usersPerProject;
  const section = [
    BEGIN,
    "",
    "## Permissions (read path)",
    "",
    `What enforcing read permissions costs (issue 17), measured by \`scripts/bench/permissions.ts\`:`,
    `${
      n(layout.rows)
    } issues spread evenly over ${layout.projects} projects, ${users} users each a`,
    `member of one project (${layout.usersPerProject} per project), tables \`projects\`,`,
    "`memberships` and `issues` electrified. **With permissions**:",
    "`GRANT SELECT ON issues TO (projects, 'member')` and",
    "`ASSIGN (projects, 'member') TO memberships.user_id` (rows in",
    "`electric.grants` / `electric.assignments`); every user's light Satellite client (insecure",
    "token, `sub` = the user) subscribes to all of `issues` and the service narrows it to the",
    "user's project. **Without** (baseline): no rule; every client subscribes to `issues` with",
    "`this.project_id = '<its project>'`. Both deliver the same rows, so the difference is the cost",
    "of permissions. Each variant runs on a fresh database and a fresh service; every client's",
    "initial data is checked to be exactly its project's rows (count, sum of a column, no row of",
    "another project), and a live write reaching a non-member fails the run.",
    "",
    "Initial sync: all users subscribe at once, timed from the first request to the last",
    "`SatSubsDataEnd`. Live phase: single-row autocommit writes (rounds over the projects",
    `alternate INSERT and UPDATE) at ${input.rate} writes/s for ${input.seconds} s after a warm-up that`,
    "takes every client past its ack threshold; latency = the writer's commit returning → each",
    "member of the write's project handling it (one process, one clock). Service CPU from",
    `\`/proc\` over the live phase, peak RSS = VmHWM at the end. Medians of ${input.runs} run(s); the`,
    "order of the two variants alternates between runs. Target: every figure with permissions",
    "within 20% of it without (ratio ≤ 1.2).",
    "",
    ...commandLines(input.command, input.meta),
    "",
    ...renderTable(input.summary),
    "",
    `Against the target: ${verdict(input.summary).line}`,
    "",
    END,
  ].join("\n");
  writeSection(BEGIN, END, section);
}
