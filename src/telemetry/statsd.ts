/**
 * The registry to StatsD, in DogStatsD (Datadog) format over UDP: every period, counters as
 * the delta since the previous flush (`|c`), gauges as their value (`|g`), each line tagged
 * `#instance_id:<id>` plus the series' labels, lines packed into datagrams under 1400 bytes
 * (one Ethernet MTU with room for headers). Histograms go out as their `_count` and `_sum`
 * deltas. Sending never throws: the first failure of a streak is logged, the rest are not.
 *
 * Line format: https://docs.datadoghq.com/developers/dogstatsd/datagram_shell/
 */
import dgram from "node:dgram";
import { delay, type Service } from "../lifecycle/mod.ts";
import type { Logger } from "./logger.ts";
import type { MetricSample, MetricsRegistry } from "./metrics.ts";

export const STATSD_DEFAULT_PORT = 8125;
export const MAX_DATAGRAM_BYTES = 1400;
const DEFAULT_PERIOD_MS = 2_000;

/** `host`, `host:port`, `[v6]:port` or a bare IPv6 address; the port defaults to 8125. */
export function parseStatsdHost(value: string): { host: string; port: number } {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(value);
  if (bracketed) {
    return { host: bracketed[1], port: bracketed[2] ? Number(bracketed[2]) : STATSD_DEFAULT_PORT };
  }
  const withPort = /^([^:]+):(\d+)$/.exec(value);
  if (withPort) return { host: withPort[1], port: Number(withPort[2]) };
  return { host: value, port: STATSD_DEFAULT_PORT };
}

/** Tag values may not contain the format's separators. */
function tagValue(value: string): string {
  return value.replace(/[|,#\n]/g, "_");
}

function seriesKey(sample: MetricSample, suffix = ""): string {
  return `${sample.name}${suffix}${JSON.stringify(sample.labels)}`;
}

/**
 * StatsD lines for `samples`. `previous` holds each counter's value at the last flush and is
 * updated: the first flush sends a counter's whole value, later ones what it grew by.
 */
export function statsdLines(
  samples: readonly MetricSample[],
  previous: Map<string, number>,
  baseTags: readonly string[],
): string[] {
  const lines: string[] = [];
  const delta = (key: string, value: number) => {
    const last = previous.get(key) ?? 0;
    previous.set(key, value);
    return value - last;
  };
  for (const sample of samples) {
    const tags = [
      ...baseTags,
      ...Object.entries(sample.labels).map(([k, v]) => `${k}:${tagValue(v)}`),
    ];
    const suffix = tags.length > 0 ? `|#${tags.join(",")}` : "";
    if (sample.histogram) {
      const { count, sum } = sample.histogram;
      lines.push(`${sample.name}_count:${delta(seriesKey(sample, "_count"), count)}|c${suffix}`);
      lines.push(`${sample.name}_sum:${delta(seriesKey(sample, "_sum"), sum)}|c${suffix}`);
      continue;
    }
    if (!Number.isFinite(sample.value)) continue;
    if (sample.kind === "counter") {
      lines.push(`${sample.name}:${delta(seriesKey(sample), sample.value)}|c${suffix}`);
    } else {
      lines.push(`${sample.name}:${sample.value}|g${suffix}`);
    }
  }
  return lines;
}

const encoder = new TextEncoder();

/** Lines joined by `\n` into datagrams of at most `maxBytes` (a longer line goes alone). */
export function packDatagrams(
  lines: readonly string[],
  maxBytes = MAX_DATAGRAM_BYTES,
): Uint8Array[] {
  const datagrams: Uint8Array[] = [];
  let current = "";
  let currentBytes = 0;
  for (const line of lines) {
    const bytes = encoder.encode(line).length;
    if (current !== "" && currentBytes + 1 + bytes > maxBytes) {
      datagrams.push(encoder.encode(current));
      current = "";
      currentBytes = 0;
    }
    current = current === "" ? line : `${current}\n${line}`;
    currentBytes += (currentBytes === 0 ? 0 : 1) + bytes;
  }
  if (current !== "") datagrams.push(encoder.encode(current));
  return datagrams;
}

export interface StatsdReporterOptions {
  registry: MetricsRegistry;
  /** STATSD_HOST: `host` or `host:port`. */
  target: string;
  instanceId: string;
  logger: Logger;
  /** METRICS_MEASUREMENT_PERIOD; 0 or less means the default, 2000 ms. */
  periodMs: number;
}

export class StatsdReporter implements Service {
  readonly name = "statsd reporter";
  readonly #o: StatsdReporterOptions;
  readonly #host: string;
  readonly #port: number;
  readonly #previous = new Map<string, number>();
  readonly #tags: string[];
  #socket: dgram.Socket | undefined;
  #failing = false;

  constructor(options: StatsdReporterOptions) {
    this.#o = options;
    const { host, port } = parseStatsdHost(options.target);
    this.#host = host;
    this.#port = port;
    this.#tags = [`instance_id:${tagValue(options.instanceId)}`];
  }

  async run(signal: AbortSignal): Promise<void> {
    const period = this.#o.periodMs > 0 ? this.#o.periodMs : DEFAULT_PERIOD_MS;
    const socket = dgram.createSocket(this.#host.includes(":") ? "udp6" : "udp4");
    socket.on("error", (error) => this.#failed(error));
    this.#socket = socket;
    this.#o.logger.info(
      `Sending metrics to StatsD at "${this.#host}:${this.#port}" every ${period} ms.`,
    );
    try {
      while (!signal.aborted) {
        await delay(period, signal);
        await this.flush();
      }
    } finally {
      this.#socket = undefined;
      await new Promise<void>((resolve) => {
        try {
          socket.close(() => resolve());
        } catch {
          resolve();
        }
      });
    }
  }

  /** Sends one round of datagrams; resolves once each was handed to the OS (or failed). */
  async flush(): Promise<void> {
    const socket = this.#socket;
    if (!socket) return;
    const lines = statsdLines(this.#o.registry.snapshot(), this.#previous, this.#tags);
    await Promise.all(
      packDatagrams(lines).map((datagram) =>
        new Promise<void>((resolve) => {
          try {
            socket.send(datagram, this.#port, this.#host, (error) => {
              if (error) this.#failed(error);
              else this.#failing = false;
              resolve();
            });
          } catch (error) {
            this.#failed(error);
            resolve();
          }
        })
      ),
    );
  }

  #failed(error: unknown): void {
    if (this.#failing) return;
    this.#failing = true;
    this.#o.logger.warning(
      `Could not send metrics to StatsD at "${this.#host}:${this.#port}": ${
        (error as Error)?.message ?? error
      }`,
    );
  }
}
