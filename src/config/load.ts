/**
 * `loadConfig`: evaluates the option table against a plain environment record, applies the
 * cross-variable rules, and returns either a deeply frozen `Config` or every problem at once.
 *
 * Unlike the reference, which stops at the first hard failure, all three groups are reported
 * together (required, then size, then fatal; each in the doc's evaluation order of 1.4) so a
 * user can fix everything in one go. Reading `process.env`/`Deno.env` is the caller's job.
 */
import * as v from "valibot";
import { resolveAuth } from "./auth.ts";
import { resolveRequireSsl } from "./database_url.ts";
import { type OptionName, TABLE } from "./options.ts";
import type { Config, ConfigProblem, LoadConfigResult } from "./types.ts";

type Env = Readonly<Record<string, string | undefined>>;
type Output<K extends OptionName> = v.InferOutput<(typeof TABLE)[K]["schema"]>;

const GROUP_RANK: Readonly<Record<ConfigProblem["group"], number>> = {
  required: 0,
  size: 1,
  fatal: 2,
};

/** Freezes plain objects and arrays recursively; typed arrays cannot be frozen and are skipped. */
function deepFreeze<T>(value: T): T {
  if (typeof value !== "object" || value === null || ArrayBuffer.isView(value)) return value;
  for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
  return Object.freeze(value);
}

export function loadConfig(
  env: Env,
  options: { randomId?: () => string } = {},
): LoadConfigResult {
  const problems: ConfigProblem[] = [];

  const read = <K extends OptionName>(name: K): Output<K> | undefined => {
    const spec = TABLE[name];
    const raw = Object.hasOwn(env, name) ? env[name] : undefined;
    const result = v.safeParse(spec.schema, raw);
    if (result.success) return result.output as Output<K>;
    problems.push({ variable: name, message: result.issues[0].message, group: spec.group });
    return undefined;
  };

  // Error box #1, in the doc's order: the single auth problem first.
  const auth = resolveAuth({
    mode: read("AUTH_MODE"),
    alg: read("AUTH_JWT_ALG"),
    key: read("AUTH_JWT_KEY"),
    keyIsBase64: read("AUTH_JWT_KEY_IS_BASE64_ENCODED"),
    namespace: read("AUTH_JWT_NAMESPACE"),
    issuer: read("AUTH_JWT_ISS"),
    audience: read("AUTH_JWT_AUD"),
  });
  if (!auth.ok) {
    problems.push({
      variable: auth.variable ?? "AUTH_MODE",
      message: auth.message,
      group: "required",
    });
  }
  const database = read("DATABASE_URL");
  const writeMode = read("ELECTRIC_WRITE_TO_PG_MODE");
  const publisherHost = read("LOGICAL_PUBLISHER_HOST");
  // Required unless direct_writes; an invalid mode still asks for it (two errors).
  if (writeMode !== "direct_writes" && publisherHost === undefined) {
    problems.push({
      variable: "LOGICAL_PUBLISHER_HOST",
      message: "LOGICAL_PUBLISHER_HOST not set",
      group: "required",
    });
  }
  const logLevel = read("LOG_LEVEL");
  const logFormat = read("LOG_FORMAT");
  const proxyPassword = read("PG_PROXY_PASSWORD");
  const proxyPort = read("PG_PROXY_PORT");
  const telemetryUrl = read("ELECTRIC_TELEMETRY_URL");

  // Error box #2.
  const resumableWalWindow = read("ELECTRIC_RESUMABLE_WAL_WINDOW");
  const txnCacheSize = read("ELECTRIC_TXN_CACHE_SIZE");

  // Hard failures, then the options that cannot fail.
  const metricsPeriodMs = read("METRICS_MEASUREMENT_PERIOD");
  const metricsEnabled = read("ELECTRIC_METRICS");
  const publisherPort = read("LOGICAL_PUBLISHER_PORT");
  const listenIpv6 = read("ELECTRIC_USE_IPV6");
  const instanceId = read("ELECTRIC_INSTANCE_ID");
  const instanceExpiry = read("ELECTRIC_INSTANCE_EXPIRY");
  const httpPort = read("HTTP_PORT");
  const requireSsl = read("DATABASE_REQUIRE_SSL");
  const useIpv6 = read("DATABASE_USE_IPV6");
  const tracing = read("PROXY_TRACING_ENABLE");
  const proxyAuthTimeout = read("PG_PROXY_AUTH_TIMEOUT");
  const telemetry = read("ELECTRIC_TELEMETRY");
  const features = read("ELECTRIC_FEATURES");
  const statsdHost = read("STATSD_HOST");

  if (problems.length > 0 || !auth.ok) {
    // Stable sort: within a group the evaluation order above is kept.
    problems.sort((a, b) => GROUP_RANK[a.group] - GROUP_RANK[b.group]);
    return { ok: false, problems };
  }

  // No problems means every read above produced a value.
  const config: Config = {
    database: {
      ...database!,
      requireSsl: resolveRequireSsl(requireSsl, database!.sslMode),
      useIpv6: useIpv6!,
    },
    httpPort: httpPort!,
    listenIpv6: listenIpv6!,
    writeMode: writeMode!,
    logicalPublisher: {
      ...(writeMode === "logical_replication" ? { host: publisherHost } : {}),
      port: publisherPort!,
    },
    proxy: {
      password: proxyPassword!,
      port: proxyPort!.port,
      httpTunnel: proxyPort!.httpTunnel,
      tracing: tracing!,
      // At least a second: 0 would close every connection before it could log in.
      authTimeoutMs: Math.max(1, proxyAuthTimeout!) * 1000,
    },
    logLevel: logLevel!,
    logFormat: logFormat!,
    auth: auth.value,
    resumableWalWindow: resumableWalWindow!,
    txnCacheSize: txnCacheSize!,
    instanceId: instanceId ?? (options.randomId ?? (() => crypto.randomUUID()))(),
    instanceIdFixed: instanceId !== undefined && instanceId !== "",
    // At least a second: 0 would drop the slots of instances between two heartbeats.
    instanceExpiryMs: Math.max(1, instanceExpiry!) * 1000,
    telemetry: {
      enabled: telemetry!,
      ...(telemetryUrl === undefined ? {} : { endpoint: telemetryUrl }),
    },
    features: features!,
    ...(statsdHost === undefined ? {} : { statsdHost }),
    metricsPeriodMs: metricsPeriodMs!,
    metricsEnabled: metricsEnabled!,
  };
  return { ok: true, config: deepFreeze(config) };
}
