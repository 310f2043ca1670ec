/**
 * The one metrics registry. Parts of the service register what they count once, at
 * construction, and then only add to a number on the hot path: no allocation, no lookup, no
 * formatting there. Outputs (Prometheus text at `/metrics`, StatsD datagrams, the status page)
 * read a snapshot on their own schedule, off the hot path.
 *
 * Names follow Prometheus' conventions: `electric_` prefix, base units in the name
 * (`_bytes`, `_seconds`), counters end in `_total`. A gauge that is cheaper to read than to
 * keep up to date is registered with a function that is called only when a snapshot is taken.
 * A histogram (fixed buckets) is for values observed per transaction, not per row.
 */

export type MetricKind = "counter" | "gauge" | "histogram";

/** Label values of one series, e.g. `{ phase: "initial" }`; keys and values are fixed strings. */
export type Labels = Readonly<Record<string, string>>;

export interface MetricSample {
  name: string;
  help: string;
  kind: MetricKind;
  labels: Labels;
  /** A histogram's value is its number of observations; the rest is in `histogram`. */
  value: number;
  histogram?: HistogramValue;
}

/** A histogram as read: `counts[i]` observations ≤ `bounds[i]` (cumulative), then all. */
export interface HistogramValue {
  bounds: readonly number[];
  /** Cumulative, one per bound, then the total (the `+Inf` bucket). */
  counts: number[];
  sum: number;
  count: number;
}

/** A number that only goes up (rows sent, transactions applied). */
export class Counter {
  value = 0;
  inc(by = 1): void {
    this.value += by;
  }
}

/** A number that goes up and down (clients connected). */
export class Gauge {
  value = 0;
  set(value: number): void {
    this.value = value;
  }
  inc(by = 1): void {
    this.value += by;
  }
  dec(by = 1): void {
    this.value -= by;
  }
}

/**
 * Observations in fixed buckets (upper bounds, ascending): `observe` is a short scan and three
 * additions, for values observed per transaction, not per row.
 */
export class Histogram {
  readonly bounds: readonly number[];
  /** Per bucket (not cumulative); the last one is above every bound. */
  readonly #counts: number[];
  sum = 0;
  count = 0;

  constructor(bounds: readonly number[]) {
    this.bounds = [...bounds].sort((a, b) => a - b);
    this.#counts = new Array(this.bounds.length + 1).fill(0);
  }

  observe(value: number): void {
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]) i++;
    this.#counts[i]++;
    this.sum += value;
    this.count++;
  }

  read(): HistogramValue {
    const counts: number[] = [];
    let total = 0;
    for (const count of this.#counts) counts.push(total += count);
    return { bounds: this.bounds, counts, sum: this.sum, count: this.count };
  }
}

interface Series {
  name: string;
  help: string;
  kind: MetricKind;
  labels: Labels;
  read: () => number;
  histogram?: Histogram;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

export class MetricsRegistry {
  readonly #series: Series[] = [];
  readonly #keys = new Map<string, Counter | Gauge | Histogram | (() => number)>();

  /** A counter; registering the same name and labels twice gives the same counter. */
  counter(name: string, help: string, labels: Labels = {}): Counter {
    return this.#register(name, help, "counter", labels, () => new Counter()) as Counter;
  }

  /** A gauge the owner sets. */
  gauge(name: string, help: string, labels: Labels = {}): Gauge {
    return this.#register(name, help, "gauge", labels, () => new Gauge()) as Gauge;
  }

  /** A gauge read by calling `read` when a snapshot is taken (it must be cheap and not throw). */
  gaugeFrom(name: string, help: string, read: () => number, labels: Labels = {}): void {
    this.#register(name, help, "gauge", labels, () => read);
  }

  /** A histogram with these bucket upper bounds (`+Inf` is implied). */
  histogram(name: string, help: string, bounds: readonly number[], labels: Labels = {}): Histogram {
    return this.#register(
      name,
      help,
      "histogram",
      labels,
      () => new Histogram(bounds),
    ) as Histogram;
  }

  /** Every series now, in registration order. */
  snapshot(): MetricSample[] {
    return this.#series.map(({ name, help, kind, labels, read, histogram }) => {
      let value: number;
      try {
        value = read();
      } catch {
        value = Number.NaN;
      }
      return histogram
        ? { name, help, kind, labels, value, histogram: histogram.read() }
        : { name, help, kind, labels, value };
    });
  }

  #register(
    name: string,
    help: string,
    kind: MetricKind,
    labels: Labels,
    make: () => Counter | Gauge | Histogram | (() => number),
  ): Counter | Gauge | Histogram | (() => number) {
    if (!NAME.test(name)) throw new Error(`bad metric name ${JSON.stringify(name)}`);
    const key = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    const existing = this.#keys.get(key);
    if (existing !== undefined) return existing;
    const made = make();
    this.#keys.set(key, made);
    if (made instanceof Histogram) {
      this.#series.push({
        name,
        help,
        kind,
        labels: { ...labels },
        read: () => made.count,
        histogram: made,
      });
      return made;
    }
    const read = typeof made === "function" ? made : () => made.value;
    this.#series.push({ name, help, kind, labels: { ...labels }, read });
    return made;
  }
}
