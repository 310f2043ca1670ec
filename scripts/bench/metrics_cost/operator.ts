/**
 * The two arms of the metrics-cost benchmark, as service extras (scripts/bench/sync/env.ts):
 *
 * - **on**: the defaults an operator runs with (`ELECTRIC_METRICS=true`, the status page's
 *   sampler at `METRICS_MEASUREMENT_PERIOD=2000`), StatsD sent to a UDP socket this process
 *   opens and drains, and a scraper: `GET /metrics` and `GET /api/status?format=json` once a
 *   second each for the service's whole life (a Prometheus scrape and the status page open in
 *   a browser). A scrape still running when the next is due is skipped, as Prometheus does.
 * - **off**: `ELECTRIC_METRICS=false` (no registry, no /metrics, no StatsD, no sampler); one
 *   `GET /metrics` at start checks the switch (404), nothing during the run. With `scrape`
 *   false the on arm is like this too but with the metrics on (a 200 at start): what the
 *   registry and the sampler cost without anyone reading them.
 *
 * Both arms read the service's CPU seconds (/proc) just before it is stopped, so every
 * scenario gets "service CPU over its life" whatever it measures itself.
 */
import dgram from "node:dgram";
import { cpuSeconds, type ServiceExtras } from "../sync/env.ts";

export const PERIOD_MS = 2000;
export const SCRAPE_MS = 1000;

/** A UDP socket on 127.0.0.1 that counts and drops what StatsD sends. */
export class StatsdSink {
  datagrams = 0;
  bytes = 0;
  /** The first lines received, to show the arm really reported. */
  sample = "";
  readonly #socket: dgram.Socket;
  readonly port: number;

  private constructor(socket: dgram.Socket, port: number) {
    this.#socket = socket;
    this.port = port;
    socket.on("message", (message: Uint8Array) => {
      this.datagrams++;
      this.bytes += message.byteLength;
      if (this.sample === "") this.sample = new TextDecoder().decode(message).split("\n")[0];
    });
  }

  static async open(): Promise<StatsdSink> {
    const socket = dgram.createSocket("udp4");
    await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", () => resolve()));
    return new StatsdSink(socket, (socket.address() as { port: number }).port);
  }

  close(): void {
    this.#socket.close();
  }
}

/** What one service of one arm did, filled while it runs and when it stops. */
export interface Probe {
  cpuSeconds: number;
  scrapes: number;
  /** Ticks skipped because the previous scrape had not answered. */
  skipped: number;
  scrapeBytes: number;
  /** Slowest scrape (both requests), ms. */
  slowestScrapeMs: number;
  datagrams: number;
  /** Non-200 answers and failed requests of the on arm; a 200 of /metrics in the off arm. */
  errors: string[];
}

export function newProbe(): Probe {
  return {
    cpuSeconds: 0,
    scrapes: 0,
    skipped: 0,
    scrapeBytes: 0,
    slowestScrapeMs: 0,
    datagrams: 0,
    errors: [],
  };
}

async function get(url: string): Promise<{ status: number; bytes: number }> {
  const response = await fetch(url);
  const body = await response.arrayBuffer();
  return { status: response.status, bytes: body.byteLength };
}

/** `scrape` false: the on arm without StatsD and the scraper (the registry and sampler only). */
export function metricsExtras(
  on: boolean,
  sink: StatsdSink,
  probe: Probe,
  scrape = true,
): ServiceExtras {
  const env: Record<string, string> = on
    ? {
      ELECTRIC_METRICS: "true",
      METRICS_MEASUREMENT_PERIOD: String(PERIOD_MS),
      ...(scrape ? { STATSD_HOST: `127.0.0.1:${sink.port}` } : {}),
    }
    : { ELECTRIC_METRICS: "false" };
  return {
    env,
    attach(service) {
      const base = `http://127.0.0.1:${service.port}`;
      if (!on || !scrape) {
        const check = get(`${base}/metrics`).then(({ status }) => {
          if (on !== (status === 200)) {
            probe.errors.push(`/metrics answered ${status} with ELECTRIC_METRICS=${on}`);
          }
        }, (error) => probe.errors.push(`/metrics: ${(error as Error).message}`));
        return async () => {
          await check;
          probe.cpuSeconds += cpuSeconds(service.pid);
        };
      }
      const datagramsAtStart = sink.datagrams;
      let inFlight: Promise<void> | undefined;
      const scrapeOnce = async () => {
        const started = performance.now();
        const answers = await Promise.allSettled([
          get(`${base}/metrics`),
          get(`${base}/api/status?format=json`),
        ]);
        probe.slowestScrapeMs = Math.max(probe.slowestScrapeMs, performance.now() - started);
        probe.scrapes++;
        for (const [i, answer] of answers.entries()) {
          const path = i === 0 ? "/metrics" : "/api/status?format=json";
          if (answer.status === "rejected") {
            probe.errors.push(`${path}: ${(answer.reason as Error).message}`);
          } else if (answer.value.status !== 200) {
            probe.errors.push(`${path}: HTTP ${answer.value.status}`);
          } else {
            probe.scrapeBytes += answer.value.bytes;
          }
        }
      };
      const timer = setInterval(() => {
        if (inFlight) {
          probe.skipped++;
          return;
        }
        inFlight = scrapeOnce().finally(() => inFlight = undefined);
      }, SCRAPE_MS);
      return async () => {
        clearInterval(timer);
        await inFlight;
        probe.cpuSeconds += cpuSeconds(service.pid);
        probe.datagrams += sink.datagrams - datagramsAtStart;
      };
    },
  };
}
