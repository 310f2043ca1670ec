/**
 * Observability: the one logger, the startup banners, and the opt-in telemetry reporter.
 * Must not import other service modules.
 */
export {
  createLogger,
  formatJsonLine,
  formatLogLine,
  type Logger,
  type LogLevel,
  type LogMeta,
} from "./logger.ts";
export { configurationErrorBody, formatBanner } from "./banner.ts";
export { type ReporterOptions, TelemetryReporter } from "./reporter.ts";
export {
  Counter,
  Gauge,
  Histogram,
  type HistogramValue,
  type Labels,
  type MetricKind,
  type MetricSample,
  MetricsRegistry,
} from "./metrics.ts";
export { formatPrometheus, PROMETHEUS_CONTENT_TYPE } from "./prometheus.ts";
export { parseStatsdHost, StatsdReporter, type StatsdReporterOptions } from "./statsd.ts";
export { RuntimeMetrics, type RuntimeMetricsOptions } from "./runtime_metrics.ts";
export { Progress, type ProgressOptions } from "./progress.ts";
export {
  type HistoryPoint,
  seriesKey,
  StatusHistory,
  type StatusHistoryOptions,
} from "./status_history.ts";
export { type RecentError, RecentErrors, recordErrors } from "./recent_errors.ts";
