/**
 * Anonymous usage reports. Unlike the reference, which calls home by default, nothing is sent
 * unless ELECTRIC_TELEMETRY_URL names an endpoint. Sending happens on timers, off the
 * startup, request and replication paths; every failure is one warning and never more.
 */
import os from "node:os";
import { delay, type Service } from "../lifecycle/mod.ts";
import type { Logger } from "./logger.ts";

export interface ReporterOptions {
  endpoint: string;
  instanceId: string;
  version: string;
  logger: Logger;
  firstReportAfterMs?: number; // default 5 minutes
  intervalMs?: number; // default 4 hours
  requestTimeoutMs?: number; // default 10 s
  fetch?: typeof fetch;
  now?: () => Date;
}

export class TelemetryReporter implements Service {
  readonly name = "telemetry reporter";
  #options: ReporterOptions;
  #lastReported: Date | undefined;
  #startedAt: number;

  constructor(options: ReporterOptions) {
    this.#options = options;
    this.#startedAt = Date.now();
  }

  async run(signal: AbortSignal): Promise<void> {
    await delay(this.#options.firstReportAfterMs ?? 5 * 60_000, signal);
    while (!signal.aborted) {
      await this.reportOnce();
      await delay(this.#options.intervalMs ?? 4 * 3_600_000, signal);
    }
  }

  /** Sends one report; resolves whether it was accepted. Never throws. */
  async reportOnce(): Promise<boolean> {
    const { logger } = this.#options;
    const send = this.#options.fetch ?? fetch;
    const now = (this.#options.now ?? (() => new Date()))();
    try {
      const response = await send(this.#options.endpoint, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(this.#payload(now)),
        signal: AbortSignal.timeout(this.#options.requestTimeoutMs ?? 10_000),
      });
      await response.body?.cancel();
      if (!response.ok) throw new Error(`status ${response.status}`);
      this.#lastReported = now;
      return true;
    } catch (error) {
      logger.warning(
        `Reporter function failed while trying to send telemetry data: ${(error as Error).message}`,
      );
      return false;
    }
  }

  #payload(now: Date) {
    return {
      last_reported: this.#lastReported?.toISOString() ?? null,
      timestamp: now.toISOString(),
      data: {
        electric_version: this.#options.version,
        environment: {
          os: { family: os.platform() === "win32" ? "win32" : "unix", name: os.platform() },
          arch: os.arch(),
          cores: os.cpus().length,
          ram: os.totalmem(),
          electric_instance_id: this.#options.instanceId,
        },
        resources: { uptime: Math.round((Date.now() - this.#startedAt) / 1000) },
      },
    };
  }
}
