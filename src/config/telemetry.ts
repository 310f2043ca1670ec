/**
 * `ELECTRIC_TELEMETRY` (the reference's on/off word lists) and our `ELECTRIC_TELEMETRY_URL`.
 * Telemetry stays enabled by default as in the reference, but nothing is sent unless an
 * explicit endpoint is configured: we never phone home to a built-in address.
 */
import { fail, ok, type Parsed } from "./converters.ts";

const ON = ["1", "t", "true", "enable", "enabled", "y", "yes", "on"];
const OFF = ["0", "f", "false", "disable", "disabled", "n", "no", "off"];

export function asTelemetry(raw: string | undefined): Parsed<boolean> {
  if (raw === undefined || ON.includes(raw)) return ok(true);
  if (OFF.includes(raw)) return ok(false);
  return fail(`Invalid value for \`ELECTRIC_TELEMETRY\`: ${raw}`);
}

export function asTelemetryUrl(raw: string | undefined): Parsed<string | undefined> {
  if (raw === undefined || raw === "") return ok(undefined);
  let protocol: string | undefined;
  try {
    protocol = new URL(raw).protocol;
  } catch {
    protocol = undefined;
  }
  return protocol === "http:" || protocol === "https:" ? ok(raw) : fail(
    `ELECTRIC_TELEMETRY_URL has invalid value: "${raw}". Must be an http:// or https:// URL`,
  );
}
