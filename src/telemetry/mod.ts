/**
 * Observability: the one logger, the startup banners, and the opt-in telemetry reporter.
 * Must not import other service modules.
 */
export { createLogger, formatLogLine, type Logger, type LogLevel, type LogMeta } from "./logger.ts";
export { configurationErrorBody, formatBanner } from "./banner.ts";
export { type ReporterOptions, TelemetryReporter } from "./reporter.ts";
