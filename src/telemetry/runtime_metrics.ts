/**
 * Runtime metrics: memory read when a snapshot is taken, and event-loop delay measured with
 * a timer (`perf_hooks.monitorEventLoopDelay` exists in Deno and Bun but is not known to
 * measure there; a timer works the same everywhere and costs a wake-up every few tens of
 * milliseconds). The delay gauge is the largest lateness of the timer over the last period.
 */
import process from "node:process";
import type { Service } from "../lifecycle/mod.ts";
import type { MetricsRegistry } from "./metrics.ts";

export interface RuntimeMetricsOptions {
  registry: MetricsRegistry;
  /** METRICS_MEASUREMENT_PERIOD; 0 or less means the default, 2000 ms. */
  periodMs: number;
}

/** How often the delay timer fires: a twentieth of the period, within 10–100 ms. */
export function delayTickMs(periodMs: number): number {
  return Math.min(100, Math.max(10, Math.floor(periodMs / 20)));
}

export class RuntimeMetrics implements Service {
  readonly name = "runtime metrics";
  readonly #periodMs: number;
  readonly #delay;

  constructor(options: RuntimeMetricsOptions) {
    const { registry } = options;
    this.#periodMs = options.periodMs > 0 ? options.periodMs : 2_000;
    registry.gaugeFrom(
      "process_resident_memory_bytes",
      "Resident memory size of the process, in bytes.",
      () => process.memoryUsage.rss(),
    );
    registry.gaugeFrom(
      "electric_heap_used_bytes",
      "JavaScript heap in use, in bytes.",
      () => process.memoryUsage().heapUsed,
    );
    this.#delay = registry.gauge(
      "electric_event_loop_delay_seconds",
      "Largest event-loop delay seen over the last measurement period, in seconds.",
    );
  }

  run(signal: AbortSignal): Promise<void> {
    const tick = delayTickMs(this.#periodMs);
    return new Promise<void>((resolve) => {
      if (signal.aborted) return resolve();
      let worst = 0;
      let periodStart = performance.now();
      let expected = periodStart + tick;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const fire = () => {
        const now = performance.now();
        worst = Math.max(worst, now - expected);
        if (now - periodStart >= this.#periodMs) {
          this.#delay.set(worst / 1000);
          worst = 0;
          periodStart = now;
        }
        expected = now + tick;
        timer = setTimeout(fire, tick);
      };
      timer = setTimeout(fire, tick);
      signal.addEventListener("abort", () => {
        clearTimeout(timer);
        resolve();
      }, { once: true });
    });
  }
}
