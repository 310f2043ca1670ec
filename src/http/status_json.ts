/**
 * `GET /api/status?format=json` (or with `Accept: application/json`): the figures of the
 * status page as one JSON document. Current values come from a registry snapshot taken for the
 * request; charts from the sampled history; a metric nobody registered is `null`, never an
 * error, so the page and tools work while parts of the service are not instrumented.
 *
 * The plain `/api/status` texts and codes are untouched (tools compare them); the JSON is
 * always 200 and says the state in `status` and `postgres.state`.
 */
import type { HistoryPoint, MetricSample, RecentError } from "../telemetry/mod.ts";
import { seriesKey } from "../telemetry/mod.ts";
import type { ConnectorState } from "../storage/mod.ts";

/** What the status answers are built from; every part is optional. */
export interface StatusSource {
  version?: string;
  instanceId?: string;
  /** "deno" or "bun". */
  runtime?: string;
  /** Epoch ms when the service started. */
  startedAt?: number;
  /** The replication slot that pins WAL for this service. */
  slot?: string;
  /** The metrics registry. */
  metrics?: { snapshot(): readonly MetricSample[] };
  /** The sampled history (a StatusHistory): points oldest first. */
  history?: { readonly intervalMs: number; points(): readonly HistoryPoint[] };
  /** Newest first (a RecentErrors). */
  recentErrors?: { list(): readonly RecentError[] };
  now?: () => number;
}

/**
 * Figures shown as current values: [path in the JSON, metric series]. A labelled metric
 * named without labels is the sum over its series.
 */
const FIGURES: ReadonlyArray<readonly [string, string]> = [
  ["postgres.connected", "electric_postgres_connected"],
  ["postgres.replication_lag_bytes", "electric_replication_lag_bytes"],
  ["postgres.replication_lag_seconds", "electric_replication_lag_seconds"],
  ["postgres.transactions_received_total", "electric_transactions_received_total"],
  ["postgres.wal_window_bytes", "electric_wal_window_bytes"],
  ["postgres.wal_window_limit_bytes", "electric_wal_window_limit_bytes"],
  ["postgres.transaction_cache_bytes", "electric_transaction_cache_bytes"],
  ["postgres.transaction_cache_limit_bytes", "electric_transaction_cache_limit_bytes"],
  ["clients.connected", "electric_clients_connected"],
  ["clients.authenticated", "electric_clients_authenticated"],
  ["clients.subscriptions", "electric_subscriptions"],
  ["clients.shapes", "electric_shapes"],
  ["clients.transactions_applied_total", "electric_client_transactions_applied_total"],
  ["clients.transactions_refused_total", "electric_client_transactions_refused_total"],
  ["sent.rows_total", "electric_rows_sent_total"],
  ["sent.rows_initial_total", 'electric_rows_sent_total{phase="initial"}'],
  ["sent.rows_live_total", 'electric_rows_sent_total{phase="live"}'],
  ["sent.bytes_total", "electric_bytes_sent_total"],
  ["sent.transactions_total", "electric_transactions_sent_total"],
  ["proxy.sessions", "electric_proxy_sessions"],
  ["proxy.migrations_captured_total", "electric_proxy_migrations_captured_total"],
  ["process.resident_memory_bytes", "process_resident_memory_bytes"],
  ["process.heap_used_bytes", "electric_heap_used_bytes"],
  ["process.event_loop_delay_seconds", "electric_event_loop_delay_seconds"],
];

/** Charted series: [name in `history.series` and `rates`, series in the sampled points]. */
const CHARTS: ReadonlyArray<readonly [string, string]> = [
  ["rows_per_second", "electric_rows_sent_total"],
  ["bytes_per_second", "electric_bytes_sent_total"],
  ["transactions_in_per_second", "electric_transactions_received_total"],
  ["transactions_out_per_second", "electric_transactions_sent_total"],
  ["client_transactions_per_second", "electric_client_transactions_applied_total"],
  ["clients_connected", "electric_clients_connected"],
  ["replication_lag_bytes", "electric_replication_lag_bytes"],
];

type Figures = Record<string, Record<string, number | null>>;

export interface StatusDocument {
  status: "ok" | "starting" | "failed";
  version: string | null;
  instance_id: string | null;
  runtime: string | null;
  started_at: string | null;
  uptime_seconds: number | null;
  postgres: Record<string, string | number | null>;
  clients: Figures["clients"];
  sent: Figures["sent"];
  proxy: Figures["proxy"];
  process: Figures["process"];
  /** The newest sampled rates (per second) and gauges. */
  rates: Record<string, number | null>;
  history: {
    interval_ms: number | null;
    times: number[];
    series: Record<string, (number | null)[]>;
  };
  recent_errors: RecentError[];
  /** Every series of the snapshot, by `name{labels}` (and by name, summed over labels). */
  metrics: Record<string, number | null>;
}

/** Pure: the JSON document for a connector state, a snapshot and the rest of `source`. */
export function statusDocument(
  state: ConnectorState | undefined,
  source: StatusSource,
): StatusDocument {
  const now = source.now?.() ?? Date.now();
  const points = source.history?.points() ?? [];
  const latest = points.at(-1);
  const metrics = currentValues(source.metrics?.snapshot() ?? [], latest);
  const figures: Figures = { postgres: {}, clients: {}, sent: {}, proxy: {}, process: {} };
  for (const [path, series] of FIGURES) {
    const [group, field] = path.split(".");
    figures[group][field] = metrics[series] ?? null;
  }
  const rates: Record<string, number | null> = {};
  const series: Record<string, (number | null)[]> = {};
  for (const [chart, key] of CHARTS) {
    rates[chart] = rounded(latest?.values.get(key));
    series[chart] = points.map((point) => rounded(point.values.get(key)));
  }
  return {
    status: state === "ready" ? "ok" : state === undefined ? "failed" : "starting",
    version: source.version ?? null,
    instance_id: source.instanceId ?? null,
    runtime: source.runtime ?? null,
    started_at: source.startedAt === undefined ? null : new Date(source.startedAt).toISOString(),
    uptime_seconds: source.startedAt === undefined
      ? null
      : Math.max(0, Math.round((now - source.startedAt) / 1000)),
    postgres: { state: state ?? "failed", slot: source.slot ?? null, ...figures.postgres },
    clients: figures.clients,
    sent: figures.sent,
    proxy: figures.proxy,
    process: figures.process,
    rates,
    history: {
      interval_ms: source.history?.intervalMs ?? null,
      times: points.map((point) => point.at),
      series,
    },
    recent_errors: [...(source.recentErrors?.list() ?? [])],
    metrics,
  };
}

/**
 * By series and by name (labelled series summed). A histogram reads as the mean value observed
 * in the newest sampled interval, else over the whole run.
 */
function currentValues(
  samples: readonly MetricSample[],
  latest: HistoryPoint | undefined,
): Record<string, number | null> {
  const values: Record<string, number | null> = {};
  for (const { name, labels, value, histogram } of samples) {
    const key = seriesKey(name, labels);
    if (histogram) {
      const overall = histogram.count > 0 ? histogram.sum / histogram.count : null;
      values[key] = latest?.values.get(key) ?? overall;
      if (key !== name) values[name] = latest?.values.get(name) ?? null;
      continue;
    }
    const known = Number.isFinite(value);
    values[key] = known ? value : null;
    if (key === name) continue;
    const sum = values[name];
    values[name] = !known || sum === null ? null : (sum ?? 0) + value;
  }
  return values;
}

/** Rates to three decimals: the page shows two, and the JSON stays short. */
function rounded(value: number | undefined): number | null {
  if (value === undefined || !Number.isFinite(value)) return null;
  return Math.round(value * 1000) / 1000;
}

/**
 * Whether a request asks for the JSON answer: `?format=json`, or an Accept header naming
 * `application/json` (with q above 0). `*\/*` alone keeps the text: curl and probes send it.
 */
export function wantsJson(url: string, accept: string | undefined): boolean {
  const query = url.indexOf("?");
  if (query !== -1) {
    const params = new URLSearchParams(url.slice(query + 1).replace(/#.*$/, ""));
    if (params.get("format") === "json") return true;
  }
  if (!accept) return false;
  return accept.split(",").some((part) => {
    const [type, ...params] = part.split(";").map((s) => s.trim().toLowerCase());
    if (type !== "application/json") return false;
    const q = params.find((p) => p.startsWith("q="));
    return q === undefined || Number(q.slice(2)) > 0;
  });
}
