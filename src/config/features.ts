/**
 * `ELECTRIC_FEATURES` (doc 1.3.7): colon-separated `name=true|false` pairs gating the DDLX
 * commands of the migrations proxy. The leftmost occurrence of a name wins so that users can
 * prepend overrides to an inherited value. `__default__` answers for every unlisted flag.
 */
import { fail, ok, type Parsed } from "./converters.ts";

export const DEFAULT_FLAG = "__default__";

export const KNOWN_FEATURES = [
  "proxy_ddlx_grant",
  "proxy_ddlx_revoke",
  "proxy_ddlx_assign",
  "proxy_ddlx_unassign",
] as const;

/** The flags as written, leftmost first occurrence kept. */
export function parseFeatureList(raw: string): Parsed<Map<string, boolean>> {
  const flags = new Map<string, boolean>();
  for (const segment of raw.split(":")) {
    if (segment === "") continue;
    const eq = segment.indexOf("=");
    const name = eq < 0 ? "" : segment.slice(0, eq);
    const value = eq < 0 ? "" : segment.slice(eq + 1);
    if (name === "" || (value !== "true" && value !== "false")) {
      return fail(
        `ELECTRIC_FEATURES has invalid value: "${segment}". Each entry must be name=true or name=false`,
      );
    }
    if (!flags.has(name)) flags.set(name, value === "true");
  }
  return ok(flags);
}

/**
 * Resolves every known flag (and `__default__`) to a boolean; names we do not know are kept
 * as given so the proxy can still consult them.
 */
export function resolveFeatures(flags: ReadonlyMap<string, boolean>): Record<string, boolean> {
  const fallback = flags.get(DEFAULT_FLAG) ?? false;
  const resolved: Record<string, boolean> = { [DEFAULT_FLAG]: fallback };
  for (const name of KNOWN_FEATURES) resolved[name] = fallback;
  for (const [name, value] of flags) resolved[name] = value;
  return resolved;
}

export function asFeatures(raw: string | undefined): Parsed<Record<string, boolean>> {
  const flags = parseFeatureList(raw ?? "");
  return flags.ok ? ok(resolveFeatures(flags.value)) : flags;
}

/** Whether a flag is on; unknown names fall back to `__default__`. */
export function featureEnabled(
  config: { readonly features: Readonly<Record<string, boolean>> },
  name: string,
): boolean {
  const { features } = config;
  if (Object.hasOwn(features, name)) return features[name];
  return features[DEFAULT_FLAG] ?? false;
}
