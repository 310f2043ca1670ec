/**
 * `ELECTRIC_FEATURES` (doc 1.3.7): colon-separated `name=true|false` pairs gating the DDLX
 * commands of the migrations proxy. The leftmost occurrence of a name wins so that users can
 * prepend overrides to an inherited value.
 *
 * Precedence, for each flag: the flag written explicitly; else `__default__` written
 * explicitly; else the flag's built-in default. The built-in defaults differ from the
 * reference (where every flag is off): the DDLX permission commands (`proxy_ddlx_grant`,
 * `_revoke`, `_assign`, `_unassign`) are on, because this service enforces the rules they
 * store; `__default__` itself stays off, so `ELECTRIC DISABLE` and `ELECTRIC SQLITE` (which
 * it answers for) and unknown names are off. So `proxy_ddlx_grant=false` turns GRANT off, and
 * `__default__=false` written out turns all four permission commands off unless listed.
 */
import { fail, ok, type Parsed } from "./converters.ts";

export const DEFAULT_FLAG = "__default__";

/** Each known flag with its built-in default (used when neither it nor `__default__` is set). */
export const FEATURE_DEFAULTS: Readonly<Record<string, boolean>> = Object.freeze({
  proxy_ddlx_grant: true,
  proxy_ddlx_revoke: true,
  proxy_ddlx_assign: true,
  proxy_ddlx_unassign: true,
});

export const KNOWN_FEATURES = Object.keys(FEATURE_DEFAULTS);

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
 * Resolves every known flag (and `__default__`) to a boolean, by the precedence in the header;
 * names we do not know are kept as given so the proxy can still consult them.
 */
export function resolveFeatures(flags: ReadonlyMap<string, boolean>): Record<string, boolean> {
  const written = flags.get(DEFAULT_FLAG);
  const resolved: Record<string, boolean> = { [DEFAULT_FLAG]: written ?? false };
  for (const [name, builtIn] of Object.entries(FEATURE_DEFAULTS)) {
    resolved[name] = written ?? builtIn;
  }
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
