/**
 * The status page's memory: every `intervalMs` a snapshot of the metrics registry becomes one
 * point of a ring buffer holding about `windowMs` (10 minutes) of them. Counters are kept as
 * rates per second over the interval before (rows/s, transactions/s), gauges as they are.
 *
 * A point holds every series twice over: by name, summed over its labels
 * (`electric_rows_sent_total`), and by name and labels (`electric_rows_sent_total{phase="live"}`).
 * It knows no metric by name: which series are charted is the status page's choice.
 *
 * Sampling reads the registry off the hot paths, on its own timer; a snapshot is a few dozen
 * numbers, so a point costs a small map and nothing grows past the ring.
 */
import { delay, type Service } from "../lifecycle/mod.ts";
import type { Labels, MetricKind, MetricSample } from "./metrics.ts";

export interface HistoryPoint {
  /** Epoch milliseconds of the snapshot. */
  readonly at: number;
  /**
   * Gauges as read; counters as a rate per second; histograms as the mean of the values
   * observed during the interval. Counters and histograms are absent from the first point, and
   * a histogram also from a point with no observations.
   */
  readonly values: ReadonlyMap<string, number>;
}

export interface StatusHistoryOptions {
  /** The registry's snapshot(). */
  snapshot: () => readonly MetricSample[];
  /** Between two points; default 5 s. */
  intervalMs?: number;
  /** How much history to keep; default 10 minutes. */
  windowMs?: number;
  now?: () => number;
}

/** Bounds the ring whatever the interval (a 200 ms interval keeps 2.4 minutes, not 10). */
export const MAX_POINTS = 720;

/** `name` or `name{a="x",b="y"}` (keys sorted), as Prometheus spells a series. */
export function seriesKey(name: string, labels: Labels): string {
  const keys = Object.keys(labels).sort();
  if (keys.length === 0) return name;
  return `${name}{${keys.map((key) => `${key}=${JSON.stringify(labels[key])}`).join(",")}}`;
}

export interface Totals {
  readonly kind: ReadonlyMap<string, MetricKind>;
  /** A histogram's value is its count of observations. */
  readonly value: ReadonlyMap<string, number>;
  /** Histograms only: the sum of the values observed. */
  readonly sum: ReadonlyMap<string, number>;
}

/**
 * Pure: a snapshot keyed by series and by name (labelled series summed). A series whose read
 * failed (NaN) makes its name's sum unknown rather than wrong.
 */
export function totalsOf(samples: readonly MetricSample[]): Totals {
  const kind = new Map<string, MetricKind>();
  const value = new Map<string, number>();
  const sum = new Map<string, number>();
  for (const sample of samples) {
    const key = seriesKey(sample.name, sample.labels);
    const keys = key === sample.name ? [key] : [key, sample.name];
    for (const k of keys) {
      kind.set(k, sample.kind);
      value.set(k, (k === key ? 0 : value.get(k) ?? 0) + sample.value);
      if (sample.histogram) {
        sum.set(k, (k === key ? 0 : sum.get(k) ?? 0) + sample.histogram.sum);
      }
    }
  }
  for (const [key, v] of value) if (!Number.isFinite(v)) value.delete(key);
  return { kind, value, sum };
}

/**
 * Pure: the point for `current`, counters turned into rates since `previous` (`seconds`
 * apart), histograms into the mean value observed since. A count that went down was reset (a
 * new registry): its whole value is the delta.
 */
export function pointValues(
  previous: Totals | undefined,
  current: Totals,
  seconds: number,
): Map<string, number> {
  const values = new Map<string, number>();
  for (const [key, value] of current.value) {
    const kind = current.kind.get(key);
    if (kind === "gauge") {
      values.set(key, value);
      continue;
    }
    const before = previous?.value.get(key);
    if (before === undefined) continue;
    const reset = value < before;
    const delta = reset ? value : value - before;
    if (kind === "counter") {
      if (seconds > 0) values.set(key, delta / seconds);
    } else if (delta > 0) {
      const sumNow = current.sum.get(key) ?? 0;
      const mean = (reset ? sumNow : sumNow - (previous?.sum.get(key) ?? 0)) / delta;
      if (Number.isFinite(mean)) values.set(key, mean);
    }
  }
  return values;
}

export class StatusHistory implements Service {
  readonly name = "status history";
  readonly intervalMs: number;
  readonly #snapshot: () => readonly MetricSample[];
  readonly #now: () => number;
  readonly #ring: (HistoryPoint | undefined)[];
  #next = 0;
  #previous: { at: number; totals: Totals } | undefined;

  constructor(options: StatusHistoryOptions) {
    this.intervalMs = Math.max(1, options.intervalMs ?? 5_000);
    const windowMs = options.windowMs ?? 10 * 60_000;
    const capacity = Math.min(MAX_POINTS, Math.max(2, Math.ceil(windowMs / this.intervalMs)));
    this.#ring = new Array(capacity).fill(undefined);
    this.#snapshot = options.snapshot;
    this.#now = options.now ?? Date.now;
  }

  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      this.sample();
      await delay(this.intervalMs, signal);
    }
  }

  /** Takes one point now (the timer calls it; tests call it directly). */
  sample(): HistoryPoint {
    const at = this.#now();
    const totals = totalsOf(this.#snapshot());
    const seconds = this.#previous ? (at - this.#previous.at) / 1000 : 0;
    const point = { at, values: pointValues(this.#previous?.totals, totals, seconds) };
    this.#previous = { at, totals };
    this.#ring[this.#next] = point;
    this.#next = (this.#next + 1) % this.#ring.length;
    return point;
  }

  /** The points kept, oldest first. */
  points(): HistoryPoint[] {
    const ordered = [...this.#ring.slice(this.#next), ...this.#ring.slice(0, this.#next)];
    return ordered.filter((point): point is HistoryPoint => point !== undefined);
  }

  /** The newest point, if any. */
  latest(): HistoryPoint | undefined {
    return this.#ring[(this.#next - 1 + this.#ring.length) % this.#ring.length];
  }
}
