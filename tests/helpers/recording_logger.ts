/** A logger for tests that drops every line but keeps the warnings, to assert on them. */
import type { Logger } from "../../src/telemetry/mod.ts";

export function recordingLogger(): { logger: Logger; warnings: string[] } {
  const warnings: string[] = [];
  const logger = {
    debug() {},
    info() {},
    warning: (message: string) => warnings.push(message),
    error() {},
    child: () => logger,
  } as unknown as Logger;
  return { logger, warnings };
}
