/**
 * `DATABASE_URL` (doc 1.3.1) and the SSL decision of 1.3.2.
 *
 * The URL is split with the RFC 3986 regular expression rather than `new URL()`, because WHATWG
 * URL parsing normalises and percent-encodes in ways the reference does not (and rejects some
 * inputs the reference accepts), which would change which error is reported. Messages never
 * contain the URL itself: it carries the database password.
 */
import { fail, ok, type Parsed } from "./converters.ts";
import type { DatabaseConfig, SslMode } from "./types.ts";

/** The parts of `DatabaseConfig` that come from the URL alone. */
export type DatabaseUrl = Omit<DatabaseConfig, "requireSsl" | "useIpv6">;

export const DEFAULT_PG_PORT = 5432;
export const CONNECT_TIMEOUT_MS = 5000;

const SSL_MODES: readonly SslMode[] = ["disable", "allow", "prefer", "require"];

// RFC 3986 appendix B; the scheme group is restricted to valid scheme characters so that a
// scheme-less "host:5432/db" is still recognised as having scheme "host", as the reference does.
const URI = /^(?:([A-Za-z][A-Za-z0-9+.-]*):)?(?:\/\/([^/?#]*))?([^?#]*)(?:\?([^#]*))?(?:#.*)?$/;
// userinfo is everything up to the last "@"; the host is a bracketed IPv6 literal or up to ":".
const AUTHORITY = /^(?:(.*)@)?(\[[^\]]*\]|[^:]*)(?::(.*))?$/;

const problem = (reason: string): Parsed<never> => fail(`DATABASE_URL ${reason}`);

function decode(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}

/** Query decoding: `+` is a space, the last value of a key wins. */
function parseQuery(query: string): Map<string, string> | undefined {
  const result = new Map<string, string>();
  for (const pair of query.split("&")) {
    if (pair === "") continue;
    const eq = pair.indexOf("=");
    const key = decode((eq < 0 ? pair : pair.slice(0, eq)).replaceAll("+", " "));
    const value = decode((eq < 0 ? "" : pair.slice(eq + 1)).replaceAll("+", " "));
    if (key === undefined || value === undefined) return undefined;
    result.set(key, value);
  }
  return result;
}

function checkQuery(query: string | undefined): Parsed<SslMode | undefined> {
  if (query === undefined || query === "") return ok(undefined);
  const params = parseQuery(query);
  if (params === undefined) return problem("has invalid query string encoding");
  const sslmode = params.get("sslmode");
  // When sslmode is present every other key is ignored, as in the reference.
  if (sslmode !== undefined) {
    if ((SSL_MODES as readonly string[]).includes(sslmode)) return ok(sslmode as SslMode);
    if (sslmode === "verify-ca" || sslmode === "verify-full") {
      return problem(
        `has unsupported "sslmode" value "${sslmode}". Consider using the DATABASE_REQUIRE_SSL configuration option`,
      );
    }
    return problem(`has invalid "sslmode" value: "${sslmode}"`);
  }
  if (params.has("replication")) {
    return problem(
      `has unsupported "replication" query option. Electric opens both a replication connection and regular connections to Postgres as needed`,
    );
  }
  if (params.size === 0) return ok(undefined);
  const keys = [...params.keys()].sort().map((k) => `"${k}"`).join(", ");
  return problem(`has unsupported query options: ${keys}`);
}

/** Parses a non-blank `DATABASE_URL`; checks run in the doc's order, first failure wins. */
export function parseDatabaseUrl(raw: string): Parsed<DatabaseUrl> {
  const uri = URI.exec(raw);
  const scheme = uri?.[1]?.toLowerCase();
  if (scheme !== "postgres" && scheme !== "postgresql") {
    return problem(`has invalid URL scheme: ${scheme === undefined ? "nil" : `"${scheme}"`}`);
  }
  const [, , authority, path, query] = uri!;

  const parts = AUTHORITY.exec(authority ?? "");
  const bracketed = parts?.[2] ?? "";
  const host = bracketed.startsWith("[") ? bracketed.slice(1, -1) : bracketed;
  if (host.trim() === "") return problem("missing host");

  const userinfo = parts?.[1]?.split(":");
  if (userinfo === undefined || userinfo.length > 2 || userinfo[0].trim() === "") {
    return problem("has invalid or missing username");
  }
  const user = decode(userinfo[0]);
  if (user === undefined || user.trim() === "") return problem("has invalid or missing username");
  const password = decode(userinfo[1] ?? "");
  if (password === undefined) return problem("has an invalid percent-encoded password");

  const rawPort = parts?.[3];
  let port = DEFAULT_PG_PORT;
  if (rawPort !== undefined && rawPort !== "") {
    if (!/^\d+$/.test(rawPort)) return problem(`has invalid port: "${rawPort}"`);
    port = Number(rawPort);
  }

  const sslMode = checkQuery(query);
  if (!sslMode.ok) return sslMode;

  const dbPath = path.startsWith("/") ? path.slice(1) : path;
  const database = dbPath === "" ? user : decode(dbPath);
  if (database === undefined) return problem("has an invalid percent-encoded database name");

  return ok({
    host,
    port,
    user,
    password,
    database,
    ...(sslMode.value === undefined ? {} : { sslMode: sslMode.value }),
    connectTimeoutMs: CONNECT_TIMEOUT_MS,
  });
}

export function asDatabaseUrl(raw: string | undefined): Parsed<DatabaseUrl> {
  if (raw === undefined || raw.trim() === "") return problem("not set");
  return parseDatabaseUrl(raw);
}

/**
 * Doc 1.3.2: an explicit `DATABASE_REQUIRE_SSL` wins; otherwise SSL is required unless
 * `sslmode` is disable/allow/prefer.
 */
export function resolveRequireSsl(requireSsl: boolean | undefined, sslMode?: SslMode): boolean {
  if (requireSsl !== undefined) return requireSsl;
  return sslMode === undefined || sslMode === "require";
}

/** The connection URL for logs, with the password masked. */
export function sanitizeDatabaseUrl(config: DatabaseConfig): string {
  const host = config.host.includes(":") ? `[${config.host}]` : config.host;
  const user = encodeURIComponent(config.user);
  const database = encodeURIComponent(config.database);
  return `postgresql://${user}:****@${host}:${config.port}/${database}`;
}
