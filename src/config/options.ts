/**
 * The option table: every environment variable the service reads, declared once with its
 * converter (a valibot schema), default, one-line doc and whether its value is secret.
 * `loadConfig` evaluates it, `OPTIONS` and the README table are derived from it.
 *
 * Order is the doc's table 1.2 (our `ELECTRIC_TELEMETRY_URL` sits next to `ELECTRIC_TELEMETRY`).
 * Cross-variable rules (auth, `LOGICAL_PUBLISHER_HOST`) live in `load.ts`; the options here
 * only convert their own value.
 */
import {
  asBoolean,
  asInteger,
  asOptionalBoolean,
  asString,
  blankAsUnset,
  emptyAsUnset,
  fail,
  ok,
  oneOf,
  type OptionSchema,
  type Parsed,
  schemaOf,
} from "./converters.ts";
import { asDatabaseUrl } from "./database_url.ts";
import { asFeatures } from "./features.ts";
import { parseProxyPort } from "./proxy_port.ts";
import { asByteSize } from "./size.ts";
import { asTelemetry, asTelemetryUrl } from "./telemetry.ts";
import type { ConfigProblem, LogFormat, LogLevel, WriteMode } from "./types.ts";

export interface Option<T> {
  env: string;
  /** The raw default as a user would write it; "" when there is none. */
  default: string;
  doc: string;
  /** Secret values never appear in messages or logs. */
  secret: boolean;
  /** Which report a conversion failure belongs to (doc 1.4). */
  group: ConfigProblem["group"];
  schema: OptionSchema<T>;
}

interface Declaration {
  doc: string;
  group?: ConfigProblem["group"];
  secret?: boolean;
}

/** An option with a default: the converter always receives a string. */
function option<T>(
  env: string,
  spec: Declaration & { default: string; convert: (raw: string) => Parsed<T> },
): Option<T>;
/** An option without a default: the converter sees `undefined` when unset. */
function option<T>(
  env: string,
  spec: Declaration & { convert: (raw: string | undefined) => Parsed<T> },
): Option<T>;
function option<T>(
  env: string,
  spec: Declaration & { default?: string; convert: (raw: string) => Parsed<T> },
): Option<T> {
  return {
    env,
    default: spec.default ?? "",
    doc: spec.doc,
    secret: spec.secret ?? false,
    group: spec.group ?? "required",
    schema: schemaOf(spec.convert, spec.default),
  };
}

const WRITE_MODES: readonly WriteMode[] = ["direct_writes", "logical_replication"];
const LOG_LEVELS: readonly string[] = [
  "emergency",
  "alert",
  "critical",
  "error",
  "warning",
  "warn",
  "notice",
  "info",
  "debug",
];

function asWriteMode(raw: string): Parsed<WriteMode> {
  if (raw === "") return fail("ELECTRIC_WRITE_TO_PG_MODE erroneously set to an empty value");
  return oneOf("ELECTRIC_WRITE_TO_PG_MODE", WRITE_MODES)(raw);
}

function asLogLevel(raw: string): Parsed<LogLevel> {
  // Only the four public levels are advertised; the syslog ones are accepted silently.
  const level = oneOf("LOG_LEVEL", LOG_LEVELS, ["error", "warning", "info", "debug"])(raw);
  if (!level.ok) return level;
  return ok((level.value === "warn" ? "warning" : level.value) as LogLevel);
}

function asLogFormat(raw: string): Parsed<LogFormat> {
  return oneOf<LogFormat>("LOG_FORMAT", ["text", "json"])(raw);
}

function asRequiredSecret(env: string) {
  // Blank means missing, but a real value is used verbatim (untrimmed).
  return (raw: string | undefined): Parsed<string> =>
    raw === undefined || raw.trim() === "" ? fail(`${env} not set`) : ok(raw);
}

export const TABLE = {
  DATABASE_URL: option("DATABASE_URL", {
    doc:
      "Required. Upstream Postgres, `postgresql://user:password@host[:port][/database][?sslmode=disable|allow|prefer|require]`.",
    secret: true,
    convert: asDatabaseUrl,
  }),
  DATABASE_REQUIRE_SSL: option("DATABASE_REQUIRE_SSL", {
    doc:
      "Require SSL to Postgres. When unset, SSL is required unless `sslmode` is `disable`, `allow` or `prefer`.",
    convert: asOptionalBoolean,
  }),
  DATABASE_USE_IPV6: option("DATABASE_USE_IPV6", {
    default: "false",
    doc: "Resolve the Postgres host to an IPv6 address first, falling back to IPv4.",
    convert: asBoolean,
  }),
  ELECTRIC_USE_IPV6: option("ELECTRIC_USE_IPV6", {
    default: "true",
    doc: "Listeners bind dual-stack `::` when true, IPv4 `0.0.0.0` when false.",
    convert: asBoolean,
  }),
  HTTP_PORT: option("HTTP_PORT", {
    default: "5133",
    doc: "Port of the HTTP and WebSocket API.",
    group: "fatal",
    convert: asInteger("HTTP_PORT"),
  }),
  ELECTRIC_WRITE_TO_PG_MODE: option("ELECTRIC_WRITE_TO_PG_MODE", {
    default: "logical_replication",
    doc: "How client writes reach Postgres: `logical_replication` or `direct_writes`.",
    convert: asWriteMode,
  }),
  LOGICAL_PUBLISHER_HOST: option("LOGICAL_PUBLISHER_HOST", {
    doc:
      "Host Postgres uses to reach this service's logical publisher. Required in `logical_replication` mode.",
    convert: blankAsUnset,
  }),
  LOGICAL_PUBLISHER_PORT: option("LOGICAL_PUBLISHER_PORT", {
    default: "5433",
    doc: "Port of the logical publisher, opened only in `logical_replication` mode.",
    group: "fatal",
    convert: asInteger("LOGICAL_PUBLISHER_PORT"),
  }),
  PG_PROXY_PASSWORD: option("PG_PROXY_PASSWORD", {
    doc: "Required. Password clients use to log in to the migrations proxy.",
    secret: true,
    convert: asRequiredSecret("PG_PROXY_PASSWORD"),
  }),
  PG_PROXY_PORT: option("PG_PROXY_PORT", {
    default: "65432",
    doc:
      "Migrations proxy TCP port; `http` (port 65432) or `http:<port>` also enables the `/proxy` WebSocket tunnel.",
    convert: parseProxyPort,
  }),
  LOG_LEVEL: option("LOG_LEVEL", {
    default: "info",
    doc: "`error`, `warning`, `info` or `debug`.",
    convert: asLogLevel,
  }),
  LOG_FORMAT: option("LOG_FORMAT", {
    default: "text",
    doc:
      "`text` (dated lines) or `json` (one object a line: `time`, `level`, `message` and the fields).",
    convert: asLogFormat,
  }),
  AUTH_MODE: option("AUTH_MODE", {
    default: "secure",
    doc: "`secure` (signed JWTs) or `insecure` (unsigned tokens accepted; development only).",
    convert: blankAsUnset,
  }),
  AUTH_JWT_ALG: option("AUTH_JWT_ALG", {
    doc:
      "Secure mode, required. JWT algorithm: `HS256`, `HS384`, `HS512`, `RS256`, `RS384`, `RS512`, `ES256`, `ES384` or `ES512`.",
    convert: blankAsUnset,
  }),
  AUTH_JWT_KEY: option("AUTH_JWT_KEY", {
    doc:
      "Secure mode, required. HS*: the shared secret (at least 32/48/64 bytes); RS* and ES*: the PEM public key.",
    secret: true,
    convert: blankAsUnset,
  }),
  AUTH_JWT_KEY_IS_BASE64_ENCODED: option("AUTH_JWT_KEY_IS_BASE64_ENCODED", {
    doc: "Secure mode with HS*: base64-decode `AUTH_JWT_KEY` first.",
    convert: asOptionalBoolean,
  }),
  AUTH_JWT_NAMESPACE: option("AUTH_JWT_NAMESPACE", {
    doc: "Claim namespace holding the user id in client tokens.",
    convert: blankAsUnset,
  }),
  AUTH_JWT_ISS: option("AUTH_JWT_ISS", {
    doc: "Secure mode: required value of the `iss` claim.",
    convert: blankAsUnset,
  }),
  AUTH_JWT_AUD: option("AUTH_JWT_AUD", {
    doc: "Secure mode: required value of the `aud` claim.",
    convert: blankAsUnset,
  }),
  ELECTRIC_RESUMABLE_WAL_WINDOW: option("ELECTRIC_RESUMABLE_WAL_WINDOW", {
    default: "2G",
    doc:
      "WAL retained so clients can resume (read on demand, only for clients resuming from inside it); bytes with optional suffix `k`/`m`/`g` (10^3) or `K`/`M`/`G` (2^10).",
    group: "size",
    convert: asByteSize("ELECTRIC_RESUMABLE_WAL_WINDOW"),
  }),
  ELECTRIC_TXN_CACHE_SIZE: option("ELECTRIC_TXN_CACHE_SIZE", {
    default: "256M",
    doc:
      "Size of the in-memory transaction cache (also bounds what reads of retained WAL keep), same format as the WAL window.",
    group: "size",
    convert: asByteSize("ELECTRIC_TXN_CACHE_SIZE"),
  }),
  ELECTRIC_INSTANCE_ID: option("ELECTRIC_INSTANCE_ID", {
    doc:
      "Instance id returned to clients and sent with telemetry; when set, the instance's replication slots, position and subscription are named after it (required, distinct per instance, to run several on one database). A random UUID v4 per start when unset.",
    convert: asString,
  }),
  ELECTRIC_INSTANCE_EXPIRY: option("ELECTRIC_INSTANCE_EXPIRY", {
    default: "300",
    doc:
      "Seconds an instance may go without a heartbeat before a live one drops its replication slots (and subscription), so a dead instance does not pin WAL.",
    group: "fatal",
    convert: asInteger("ELECTRIC_INSTANCE_EXPIRY"),
  }),
  ELECTRIC_TELEMETRY: option("ELECTRIC_TELEMETRY", {
    default: "true",
    doc:
      "`false`, `off`, `no`, `disable`… turn telemetry off; `true`, `on`, `yes`, `enable`… keep it on.",
    group: "fatal",
    convert: asTelemetry,
  }),
  ELECTRIC_TELEMETRY_URL: option("ELECTRIC_TELEMETRY_URL", {
    doc: "http(s) endpoint that receives telemetry; nothing is sent when unset.",
    convert: asTelemetryUrl,
  }),
  ELECTRIC_FEATURES: option("ELECTRIC_FEATURES", {
    default: "",
    doc:
      "Feature flags `name=true|false` separated by `:`, leftmost wins; `proxy_ddlx_*` default on, `__default__` (off) sets unlisted flags.",
    group: "fatal",
    convert: asFeatures,
  }),
  PG_PROXY_AUTH_TIMEOUT: option("PG_PROXY_AUTH_TIMEOUT", {
    default: "60",
    doc:
      "Seconds a migrations proxy connection may take to log in before it is closed (as Postgres' `authentication_timeout`).",
    group: "fatal",
    convert: asInteger("PG_PROXY_AUTH_TIMEOUT"),
  }),
  PROXY_TRACING_ENABLE: option("PROXY_TRACING_ENABLE", {
    default: "false",
    doc: "Print every migrations proxy protocol message to stdout.",
    convert: asBoolean,
  }),
  STATSD_HOST: option("STATSD_HOST", {
    doc:
      "StatsD host (UDP, default port 8125) for Datadog-format metrics; unset or empty disables them.",
    convert: emptyAsUnset,
  }),
  METRICS_MEASUREMENT_PERIOD: option("METRICS_MEASUREMENT_PERIOD", {
    default: "2000",
    doc:
      "Period of runtime metrics, StatsD reports and the status page's history points, in milliseconds.",
    group: "fatal",
    convert: asInteger("METRICS_MEASUREMENT_PERIOD"),
  }),
  ELECTRIC_METRICS: option("ELECTRIC_METRICS", {
    default: "true",
    doc:
      "`false` turns the metrics off: no `/metrics`, no StatsD, no figures on the status page (used to measure what they cost).",
    convert: asBoolean,
  }),
} as const;

export type OptionName = keyof typeof TABLE;

/** The public, data-only view of the table (docs, README). */
export const OPTIONS: ReadonlyArray<
  { env: string; default: string; doc: string; secret: boolean }
> = Object.freeze(
  Object.values(TABLE).map(({ env, default: def, doc, secret }) =>
    Object.freeze({ env, default: def, doc, secret })
  ),
);
