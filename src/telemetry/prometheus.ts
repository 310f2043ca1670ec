/**
 * The registry's snapshot as Prometheus text exposition format 0.0.4
 * (https://prometheus.io/docs/instrumenting/exposition_formats/): per metric family one
 * `# HELP` and one `# TYPE` line, then its series. Series of one name are written together
 * even when they were registered apart. Pure: no I/O, called when `/metrics` is scraped.
 */
import type { Labels, MetricSample } from "./metrics.ts";

export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** The exposition text of `samples` (a registry snapshot); ends with a newline. */
export function formatPrometheus(samples: readonly MetricSample[]): string {
  const families = new Map<string, MetricSample[]>();
  for (const sample of samples) {
    const family = families.get(sample.name);
    if (family) family.push(sample);
    else families.set(sample.name, [sample]);
  }
  const lines: string[] = [];
  for (const [name, family] of families) {
    const { help, kind } = family[0];
    lines.push(`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} ${kind}`);
    for (const sample of family) {
      const histogram = sample.histogram;
      if (!histogram) {
        lines.push(`${name}${formatLabels(sample.labels)} ${formatValue(sample.value)}`);
        continue;
      }
      histogram.bounds.forEach((bound, i) => {
        const labels = formatLabels({ ...sample.labels, le: formatValue(bound) });
        lines.push(`${name}_bucket${labels} ${histogram.counts[i]}`);
      });
      const inf = formatLabels({ ...sample.labels, le: "+Inf" });
      lines.push(`${name}_bucket${inf} ${histogram.count}`);
      lines.push(`${name}_sum${formatLabels(sample.labels)} ${formatValue(histogram.sum)}`);
      lines.push(`${name}_count${formatLabels(sample.labels)} ${histogram.count}`);
    }
  }
  return lines.length === 0 ? "" : `${lines.join("\n")}\n`;
}

/** `{a="1",b="x\"y"}`, or nothing without labels. */
export function formatLabels(labels: Labels): string {
  const entries = Object.entries(labels);
  if (entries.length === 0) return "";
  return `{${entries.map(([key, value]) => `${key}="${escapeLabelValue(value)}"`).join(",")}}`;
}

/** Label values escape backslash, double quote and line feed. */
export function escapeLabelValue(value: string): string {
  return value.replace(/[\\"\n]/g, (c) => c === "\n" ? "\\n" : `\\${c}`);
}

/** HELP text escapes backslash and line feed (quotes stay). */
export function escapeHelp(help: string): string {
  return help.replace(/[\\\n]/g, (c) => c === "\n" ? "\\n" : "\\\\");
}

/** Go's float formatting for the special values; plain JavaScript numbers otherwise. */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Number.POSITIVE_INFINITY) return "+Inf";
  if (value === Number.NEGATIVE_INFINITY) return "-Inf";
  return String(value);
}
