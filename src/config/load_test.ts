import { test } from "node:test";
import assert from "node:assert/strict";
import { exportSPKI, generateKeyPair } from "jose";
import { type Config, type ConfigProblem, featureEnabled, loadConfig, OPTIONS } from "./mod.ts";

const DB_PASSWORD = "db-pw-Zq81";
const PROXY_PASSWORD = "proxy-pw-Kx77";
const JWT_KEY = "jwt-key-that-is-long-enough-0123456789";

/** A minimal valid environment. */
const BASE = {
  DATABASE_URL: `postgresql://electric:${DB_PASSWORD}@localhost:5432/app`,
  PG_PROXY_PASSWORD: PROXY_PASSWORD,
  LOGICAL_PUBLISHER_HOST: "electric",
  AUTH_MODE: "insecure",
};

type Env = Record<string, string | undefined>;

function load(env: Env): Config {
  const result = loadConfig({ ...BASE, ...env }, { randomId: () => "fixed-id" });
  if (!result.ok) assert.fail(result.problems.map((p) => p.message).join("\n"));
  return result.config as Config;
}

function problems(env: Env, base: Env = BASE): ConfigProblem[] {
  const result = loadConfig({ ...base, ...env });
  assert.equal(result.ok, false, "expected problems");
  return result.ok ? [] : result.problems;
}

const messages = (env: Env, base: Env = BASE) => problems(env, base).map((p) => p.message);

test("defaults", () => {
  const config = load({});
  assert.deepEqual(config, {
    database: {
      host: "localhost",
      port: 5432,
      user: "electric",
      password: DB_PASSWORD,
      database: "app",
      requireSsl: true,
      useIpv6: false,
      connectTimeoutMs: 5000,
    },
    httpPort: 5133,
    listenIpv6: true,
    writeMode: "logical_replication",
    logicalPublisher: { host: "electric", port: 5433 },
    proxy: {
      password: PROXY_PASSWORD,
      port: 65432,
      httpTunnel: false,
      tracing: false,
      authTimeoutMs: 60_000,
    },
    logLevel: "info",
    logFormat: "text",
    auth: { mode: "insecure" },
    resumableWalWindow: 2_147_483_648,
    txnCacheSize: 268_435_456,
    instanceId: "fixed-id",
    instanceIdFixed: false,
    instanceExpiryMs: 300_000,
    telemetry: { enabled: true },
    features: {
      __default__: false,
      proxy_ddlx_grant: true,
      proxy_ddlx_revoke: true,
      proxy_ddlx_assign: true,
      proxy_ddlx_unassign: true,
    },
    metricsPeriodMs: 2000,
    metricsEnabled: true,
  });
});

test("the instance id defaults to a fresh UUID v4, and may be set (even empty)", () => {
  const result = loadConfig(BASE);
  assert.ok(result.ok);
  if (result.ok) {
    assert.match(
      result.config.instanceId,
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
  }
  assert.equal(load({ ELECTRIC_INSTANCE_ID: "abc" }).instanceId, "abc");
  assert.equal(load({ ELECTRIC_INSTANCE_ID: "" }).instanceId, "");
  assert.equal(load({ ELECTRIC_INSTANCE_ID: "abc" }).instanceIdFixed, true);
  assert.equal(load({ ELECTRIC_INSTANCE_ID: "" }).instanceIdFixed, false);
  assert.equal(load({}).instanceIdFixed, false);
  assert.equal(load({ ELECTRIC_INSTANCE_EXPIRY: "5" }).instanceExpiryMs, 5_000);
});

test("the result is deeply frozen", () => {
  const config = load({ AUTH_MODE: "secure", AUTH_JWT_ALG: "HS256", AUTH_JWT_KEY: JWT_KEY });
  assert.ok(Object.isFrozen(config));
  for (const part of [config.database, config.logicalPublisher, config.proxy, config.auth]) {
    assert.ok(Object.isFrozen(part));
  }
  assert.ok(Object.isFrozen(config.telemetry));
  assert.ok(Object.isFrozen(config.features));
  assert.throws(() => {
    (config as { httpPort: number }).httpPort = 1;
  });
  assert.throws(() => {
    (config.database as { host: string }).host = "x";
  });
});

test("integers: HTTP_PORT, LOGICAL_PUBLISHER_PORT, METRICS_MEASUREMENT_PERIOD", () => {
  const config = load({
    HTTP_PORT: "8080x",
    LOGICAL_PUBLISHER_PORT: "6000",
    METRICS_MEASUREMENT_PERIOD: "",
  });
  assert.equal(config.httpPort, 8080);
  assert.equal(config.logicalPublisher.port, 6000);
  assert.equal(config.metricsPeriodMs, 0);
  for (const variable of ["HTTP_PORT", "LOGICAL_PUBLISHER_PORT", "METRICS_MEASUREMENT_PERIOD"]) {
    const found = problems({ [variable]: " 80" });
    assert.equal(found.length, 1);
    assert.equal(found[0].variable, variable);
    assert.equal(found[0].group, "fatal");
    assert.equal(
      found[0].message,
      `Error converting variable ${variable} to integer: unparsable value " 80"`,
    );
  }
});

test("booleans: leniency of DATABASE_USE_IPV6, ELECTRIC_USE_IPV6, PROXY_TRACING_ENABLE", () => {
  assert.equal(load({ DATABASE_USE_IPV6: "no" }).database.useIpv6, true);
  assert.equal(load({ DATABASE_USE_IPV6: "TRUE" }).database.useIpv6, true);
  assert.equal(load({ ELECTRIC_USE_IPV6: "0" }).listenIpv6, false);
  assert.equal(load({ ELECTRIC_USE_IPV6: "" }).listenIpv6, false);
  assert.equal(load({ ELECTRIC_USE_IPV6: "off" }).listenIpv6, true);
  assert.equal(load({ PROXY_TRACING_ENABLE: "yes" }).proxy.tracing, true);
  assert.equal(load({ PROXY_TRACING_ENABLE: "False" }).proxy.tracing, false);
});

test("DATABASE_REQUIRE_SSL and sslmode", () => {
  const url = (mode: string) => `postgresql://u:p@h/d?sslmode=${mode}`;
  assert.equal(load({ DATABASE_URL: url("disable") }).database.requireSsl, false);
  assert.equal(load({ DATABASE_URL: url("disable") }).database.sslMode, "disable");
  assert.equal(load({ DATABASE_URL: url("require") }).database.requireSsl, true);
  assert.equal(
    load({ DATABASE_URL: url("prefer"), DATABASE_REQUIRE_SSL: "true" }).database.requireSsl,
    true,
  );
  assert.equal(load({ DATABASE_REQUIRE_SSL: "" }).database.requireSsl, false);
  assert.equal(load({ DATABASE_REQUIRE_SSL: "0" }).database.requireSsl, false);
  assert.equal(load({ DATABASE_URL: url("disable&foo=1") }).database.sslMode, "disable");
});

test("checklist 1: missing DATABASE_URL and PG_PROXY_PASSWORD", () => {
  const found = problems({ DATABASE_URL: undefined, PG_PROXY_PASSWORD: undefined });
  assert.deepEqual(found, [
    { variable: "DATABASE_URL", message: "DATABASE_URL not set", group: "required" },
    { variable: "PG_PROXY_PASSWORD", message: "PG_PROXY_PASSWORD not set", group: "required" },
  ]);
  assert.deepEqual(messages({ DATABASE_URL: "  ", PG_PROXY_PASSWORD: " \t" }), [
    "DATABASE_URL not set",
    "PG_PROXY_PASSWORD not set",
  ]);
});

test("PG_PROXY_PASSWORD is used verbatim", () => {
  assert.equal(load({ PG_PROXY_PASSWORD: " pw " }).proxy.password, " pw ");
});

test("checklist 2-5: DATABASE_URL messages", () => {
  assert.deepEqual(messages({ DATABASE_URL: "postgrex://localhost" }), [
    'DATABASE_URL has invalid URL scheme: "postgrex"',
  ]);
  assert.deepEqual(messages({ DATABASE_URL: "postgresql://localhost" }), [
    "DATABASE_URL has invalid or missing username",
  ]);
  assert.match(
    messages({ DATABASE_URL: "postgresql://u:p@h/d?sslmode=verify-full" })[0],
    /Consider using the DATABASE_REQUIRE_SSL configuration option$/,
  );
  assert.deepEqual(messages({ DATABASE_URL: "postgresql://u:p@h/d?opts=x&foo=bar" }), [
    'DATABASE_URL has unsupported query options: "foo", "opts"',
  ]);
});

test("checklist 7: LOGICAL_PUBLISHER_HOST depends on the write mode", () => {
  assert.deepEqual(problems({ LOGICAL_PUBLISHER_HOST: undefined }), [
    {
      variable: "LOGICAL_PUBLISHER_HOST",
      message: "LOGICAL_PUBLISHER_HOST not set",
      group: "required",
    },
  ]);
  assert.deepEqual(messages({ LOGICAL_PUBLISHER_HOST: "  " }), ["LOGICAL_PUBLISHER_HOST not set"]);
  const direct = load({
    LOGICAL_PUBLISHER_HOST: undefined,
    ELECTRIC_WRITE_TO_PG_MODE: "direct_writes",
  });
  assert.equal(direct.writeMode, "direct_writes");
  assert.deepEqual(direct.logicalPublisher, { port: 5433 });
  // Any value is accepted and ignored in direct_writes mode.
  const ignored = load({ LOGICAL_PUBLISHER_HOST: " ", ELECTRIC_WRITE_TO_PG_MODE: "direct_writes" });
  assert.equal(ignored.logicalPublisher.host, undefined);
});

test("checklist 8: ELECTRIC_WRITE_TO_PG_MODE, invalid mode also asks for the host", () => {
  assert.deepEqual(messages({ ELECTRIC_WRITE_TO_PG_MODE: "foo" }), [
    'ELECTRIC_WRITE_TO_PG_MODE has invalid value: "foo". Must be one of ["direct_writes", "logical_replication"]',
  ]);
  assert.deepEqual(messages({ ELECTRIC_WRITE_TO_PG_MODE: "" }), [
    "ELECTRIC_WRITE_TO_PG_MODE erroneously set to an empty value",
  ]);
  assert.deepEqual(
    messages({ ELECTRIC_WRITE_TO_PG_MODE: "Direct_Writes", LOGICAL_PUBLISHER_HOST: undefined }),
    [
      'ELECTRIC_WRITE_TO_PG_MODE has invalid value: "Direct_Writes". Must be one of ["direct_writes", "logical_replication"]',
      "LOGICAL_PUBLISHER_HOST not set",
    ],
  );
});

test("checklist 9: LOG_LEVEL", () => {
  assert.deepEqual(messages({ LOG_LEVEL: "verbose" }), [
    'LOG_LEVEL has invalid value: "verbose". Must be one of ["error", "warning", "info", "debug"]',
  ]);
  assert.equal(load({ LOG_LEVEL: "warn" }).logLevel, "warning");
  for (
    const level of ["emergency", "alert", "critical", "error", "warning", "notice", "info", "debug"]
  ) {
    assert.equal(load({ LOG_LEVEL: level }).logLevel, level);
  }
  assert.equal(messages({ LOG_LEVEL: "DEBUG" }).length, 1);
  assert.equal(messages({ LOG_LEVEL: "" }).length, 1);
});

test("checklist 10: PG_PROXY_PORT", () => {
  assert.deepEqual(load({ PG_PROXY_PORT: "http" }).proxy, {
    password: PROXY_PASSWORD,
    port: 65432,
    httpTunnel: true,
    tracing: false,
    authTimeoutMs: 60_000,
  });
  assert.equal(load({ PG_PROXY_AUTH_TIMEOUT: "5" }).proxy.authTimeoutMs, 5_000);
  assert.equal(load({ PG_PROXY_AUTH_TIMEOUT: "0" }).proxy.authTimeoutMs, 1_000);
  assert.equal(load({ PG_PROXY_PORT: "http:7000" }).proxy.port, 7000);
  assert.equal(load({ PG_PROXY_PORT: "7000" }).proxy.httpTunnel, false);
  assert.deepEqual(messages({ PG_PROXY_PORT: "abc" }), ['PG_PROXY_PORT has invalid value: "abc"']);
  assert.deepEqual(messages({ PG_PROXY_PORT: "0" }), ['PG_PROXY_PORT has invalid value: "0"']);
  assert.deepEqual(messages({ PG_PROXY_PORT: "http:abc" }), [
    'PG_PROXY_PORT has invalid value: "abc"',
  ]);
});

test("checklist 11: size variables go to the second group", () => {
  assert.deepEqual(problems({ ELECTRIC_TXN_CACHE_SIZE: "1GB" }), [
    {
      variable: "ELECTRIC_TXN_CACHE_SIZE",
      message: 'ELECTRIC_TXN_CACHE_SIZE has invalid value: "1GB"',
      group: "size",
    },
  ]);
  assert.deepEqual(messages({ ELECTRIC_RESUMABLE_WAL_WINDOW: "" }), [
    'ELECTRIC_RESUMABLE_WAL_WINDOW has invalid value: ""',
  ]);
  const config = load({ ELECTRIC_TXN_CACHE_SIZE: "2.23g", ELECTRIC_RESUMABLE_WAL_WINDOW: "430K" });
  assert.equal(config.txnCacheSize, 2_230_000_000);
  assert.equal(config.resumableWalWindow, 440_320);
});

test("checklist 12-15: auth through loadConfig", async () => {
  const secure = { AUTH_MODE: "secure" };
  assert.deepEqual(problems(secure), [
    { variable: "AUTH_JWT_ALG", message: "AUTH_JWT_ALG not set", group: "required" },
  ]);
  assert.deepEqual(messages({ AUTH_MODE: undefined }), ["AUTH_JWT_ALG not set"]);
  assert.deepEqual(messages({ AUTH_MODE: "  " }), ["AUTH_JWT_ALG not set"]);
  assert.deepEqual(messages({ ...secure, AUTH_JWT_ALG: "HS256", AUTH_JWT_KEY: "k".repeat(31) }), [
    "AUTH_JWT_KEY has to be at least 32 bytes long for HS256",
  ]);
  const es256 = await exportSPKI(
    (await generateKeyPair("ES256", { extractable: true })).publicKey,
  );
  const found = problems({ ...secure, AUTH_JWT_ALG: "ES384", AUTH_JWT_KEY: es256 });
  assert.equal(found.length, 1);
  assert.equal(found[0].variable, "AUTH_JWT_KEY");
  assert.ok(found[0].message.startsWith("AUTH_JWT_KEY is not a valid key for AUTH_JWT_ALG=ES384"));
  const es = load({ ...secure, AUTH_JWT_ALG: "ES256", AUTH_JWT_KEY: es256, AUTH_JWT_AUD: "app" });
  assert.deepEqual(es.auth, { mode: "secure", alg: "ES256", key: es256, audience: "app" });

  const key64 = btoa(String.fromCharCode(...Array.from({ length: 64 }, (_, i) => 255 - i)));
  const hs = load({
    ...secure,
    AUTH_JWT_ALG: "HS512",
    AUTH_JWT_KEY: key64,
    AUTH_JWT_KEY_IS_BASE64_ENCODED: "true",
    AUTH_JWT_ISS: " ",
    AUTH_JWT_NAMESPACE: "",
  });
  assert.ok(hs.auth.mode === "secure" && hs.auth.key instanceof Uint8Array);
  assert.equal(hs.auth.mode === "secure" && (hs.auth.key as Uint8Array).length, 64);
  assert.equal(hs.auth.mode === "secure" && hs.auth.issuer, undefined);
  assert.deepEqual(
    messages({
      ...secure,
      AUTH_JWT_ALG: "HS512",
      AUTH_JWT_KEY: "!!!",
      AUTH_JWT_KEY_IS_BASE64_ENCODED: "true",
    }),
    ["AUTH_JWT_KEY has invalid base64 encoding"],
  );
  assert.deepEqual(problems({ AUTH_JWT_ALG: "HS256" }), [
    {
      variable: "AUTH_JWT_ALG",
      message:
        "AUTH_JWT_ALG is not valid in Insecure auth mode. Did you forget to set AUTH_MODE=secure?",
      group: "required",
    },
  ]);
  // Blank auth strings count as unset, the boolean flag does not.
  assert.deepEqual(load({ AUTH_JWT_ALG: " ", AUTH_JWT_NAMESPACE: "ns" }).auth, {
    mode: "insecure",
    namespace: "ns",
  });
  assert.deepEqual(messages({ AUTH_JWT_KEY_IS_BASE64_ENCODED: "false" }), [
    "AUTH_JWT_KEY_IS_BASE64_ENCODED is not valid in Insecure auth mode. Did you forget to set AUTH_MODE=secure?",
  ]);
  assert.deepEqual(messages({ AUTH_MODE: "on" }), [
    'AUTH_MODE has invalid value: "on". Must be one of ["secure", "insecure"]',
  ]);
});

test("checklist 16: ELECTRIC_TELEMETRY", () => {
  for (const off of ["0", "f", "false", "disable", "disabled", "n", "no", "off"]) {
    assert.equal(load({ ELECTRIC_TELEMETRY: off }).telemetry.enabled, false, off);
  }
  for (const on of ["1", "t", "true", "enable", "enabled", "y", "yes", "on"]) {
    assert.equal(load({ ELECTRIC_TELEMETRY: on }).telemetry.enabled, true, on);
  }
  for (const bad of ["maybe", "", "OFF", "True"]) {
    assert.deepEqual(problems({ ELECTRIC_TELEMETRY: bad }), [
      {
        variable: "ELECTRIC_TELEMETRY",
        message: `Invalid value for \`ELECTRIC_TELEMETRY\`: ${bad}`,
        group: "fatal",
      },
    ]);
  }
});

test("ELECTRIC_TELEMETRY_URL: only explicit http(s) endpoints", () => {
  assert.equal(load({}).telemetry.endpoint, undefined);
  assert.equal(load({ ELECTRIC_TELEMETRY_URL: "" }).telemetry.endpoint, undefined);
  assert.deepEqual(load({ ELECTRIC_TELEMETRY_URL: "https://t.example/v1" }).telemetry, {
    enabled: true,
    endpoint: "https://t.example/v1",
  });
  assert.equal(
    load({ ELECTRIC_TELEMETRY_URL: "http://t:9000", ELECTRIC_TELEMETRY: "off" }).telemetry.enabled,
    false,
  );
  for (const bad of ["ftp://t.example", "not a url", "t.example"]) {
    const found = problems({ ELECTRIC_TELEMETRY_URL: bad });
    assert.equal(found.length, 1);
    assert.equal(found[0].variable, "ELECTRIC_TELEMETRY_URL");
    assert.equal(found[0].group, "required");
    assert.ok(found[0].message.startsWith(`ELECTRIC_TELEMETRY_URL has invalid value: "${bad}"`));
  }
});

test("ELECTRIC_FEATURES", () => {
  const config = load({ ELECTRIC_FEATURES: "proxy_ddlx_grant=false::proxy_ddlx_grant=true" });
  assert.equal(featureEnabled(config, "proxy_ddlx_grant"), false);
  assert.equal(featureEnabled(config, "proxy_ddlx_revoke"), true);
  const found = problems({ ELECTRIC_FEATURES: "proxy_ddlx_grant" });
  assert.equal(found.length, 1);
  assert.equal(found[0].variable, "ELECTRIC_FEATURES");
  assert.equal(found[0].group, "fatal");
  assert.match(found[0].message, /ELECTRIC_FEATURES/);
});

test("checklist 17 and STATSD_HOST", () => {
  assert.equal(load({ DATABASE_USE_IPV6: "no" }).database.useIpv6, true);
  assert.equal(load({ HTTP_PORT: "8080x" }).httpPort, 8080);
  assert.equal(load({ STATSD_HOST: "" }).statsdHost, undefined);
  assert.equal(load({ STATSD_HOST: "statsd" }).statsdHost, "statsd");
});

test("every problem is reported at once, grouped and in the doc's order", () => {
  const env: Env = {
    AUTH_MODE: "secure",
    DATABASE_URL: "postgrex://x",
    ELECTRIC_WRITE_TO_PG_MODE: "foo",
    LOG_LEVEL: "verbose",
    PG_PROXY_PORT: "abc",
    ELECTRIC_TELEMETRY_URL: "ftp://x",
    ELECTRIC_RESUMABLE_WAL_WINDOW: "0",
    ELECTRIC_TXN_CACHE_SIZE: "1GB",
    METRICS_MEASUREMENT_PERIOD: "x",
    LOGICAL_PUBLISHER_PORT: "x",
    HTTP_PORT: "x",
    ELECTRIC_TELEMETRY: "maybe",
    ELECTRIC_FEATURES: "nope",
  };
  const found = problems(env, {});
  assert.deepEqual(found.map((p) => [p.group, p.variable]), [
    ["required", "AUTH_JWT_ALG"],
    ["required", "DATABASE_URL"],
    ["required", "ELECTRIC_WRITE_TO_PG_MODE"],
    ["required", "LOGICAL_PUBLISHER_HOST"],
    ["required", "LOG_LEVEL"],
    ["required", "PG_PROXY_PASSWORD"],
    ["required", "PG_PROXY_PORT"],
    ["required", "ELECTRIC_TELEMETRY_URL"],
    ["size", "ELECTRIC_RESUMABLE_WAL_WINDOW"],
    ["size", "ELECTRIC_TXN_CACHE_SIZE"],
    ["fatal", "METRICS_MEASUREMENT_PERIOD"],
    ["fatal", "LOGICAL_PUBLISHER_PORT"],
    ["fatal", "HTTP_PORT"],
    ["fatal", "ELECTRIC_TELEMETRY"],
    ["fatal", "ELECTRIC_FEATURES"],
  ]);
  for (const p of found) assert.ok(p.message.includes(p.variable), p.message);
});

test("secret values never appear in any problem message", () => {
  const secrets = [DB_PASSWORD, PROXY_PASSWORD, JWT_KEY];
  const envs: Env[] = [
    // Bad URLs that still carry the password.
    { DATABASE_URL: `postgrex://electric:${DB_PASSWORD}@localhost/app` },
    { DATABASE_URL: `postgresql://electric:${DB_PASSWORD}@/app` },
    { DATABASE_URL: `postgresql://electric:${DB_PASSWORD}:x@localhost/app` },
    { DATABASE_URL: `postgresql://electric:${DB_PASSWORD}@localhost/app?sslmode=verify-ca` },
    { DATABASE_URL: `postgresql://electric:${DB_PASSWORD}@localhost/app?x=1` },
    { DATABASE_URL: `postgresql://electric:${DB_PASSWORD}@localhost:port/app` },
    { DATABASE_URL: `postgresql://electric:${DB_PASSWORD}%zz@localhost/app` },
    { DATABASE_URL: `electric:${DB_PASSWORD}@localhost/app` },
    // Keys that fail every kind of check.
    { AUTH_MODE: "secure", AUTH_JWT_ALG: "HS512", AUTH_JWT_KEY: JWT_KEY },
    { AUTH_MODE: "secure", AUTH_JWT_ALG: "ES256", AUTH_JWT_KEY: JWT_KEY },
    { AUTH_MODE: "secure", AUTH_JWT_ALG: "RS256", AUTH_JWT_KEY: JWT_KEY },
    {
      AUTH_MODE: "secure",
      AUTH_JWT_ALG: "HS256",
      AUTH_JWT_KEY: JWT_KEY,
      AUTH_JWT_KEY_IS_BASE64_ENCODED: "1",
    },
    { AUTH_MODE: "insecure", AUTH_JWT_KEY: JWT_KEY },
    { AUTH_MODE: "bogus", AUTH_JWT_KEY: JWT_KEY },
    // The proxy password next to other failures.
    { PG_PROXY_PASSWORD: PROXY_PASSWORD, PG_PROXY_PORT: "bad", HTTP_PORT: "x" },
  ];
  for (const env of envs) {
    for (const p of problems(env)) {
      for (const secret of secrets) {
        assert.ok(!p.message.includes(secret), `${p.variable} leaked a secret: ${p.message}`);
      }
    }
  }
});

test("values set to undefined count as unset; the input record is not modified", () => {
  const env = { ...BASE, HTTP_PORT: undefined };
  const copy = { ...env };
  assert.equal(load(env).httpPort, 5133);
  assert.deepEqual(env, copy);
});

test("OPTIONS lists every variable of the doc's table 1.2 plus ELECTRIC_TELEMETRY_URL, PG_PROXY_AUTH_TIMEOUT and LOG_FORMAT", () => {
  const documented = [
    "DATABASE_URL",
    "DATABASE_REQUIRE_SSL",
    "DATABASE_USE_IPV6",
    "ELECTRIC_USE_IPV6",
    "HTTP_PORT",
    "ELECTRIC_WRITE_TO_PG_MODE",
    "LOGICAL_PUBLISHER_HOST",
    "LOGICAL_PUBLISHER_PORT",
    "PG_PROXY_PASSWORD",
    "PG_PROXY_PORT",
    "LOG_LEVEL",
    "LOG_FORMAT",
    "AUTH_MODE",
    "AUTH_JWT_ALG",
    "AUTH_JWT_KEY",
    "AUTH_JWT_KEY_IS_BASE64_ENCODED",
    "AUTH_JWT_NAMESPACE",
    "AUTH_JWT_ISS",
    "AUTH_JWT_AUD",
    "ELECTRIC_RESUMABLE_WAL_WINDOW",
    "ELECTRIC_TXN_CACHE_SIZE",
    "ELECTRIC_INSTANCE_ID",
    "ELECTRIC_INSTANCE_EXPIRY",
    "ELECTRIC_TELEMETRY",
    "ELECTRIC_TELEMETRY_URL",
    "ELECTRIC_FEATURES",
    "PG_PROXY_AUTH_TIMEOUT",
    "PROXY_TRACING_ENABLE",
    "STATSD_HOST",
    "METRICS_MEASUREMENT_PERIOD",
    "ELECTRIC_METRICS",
  ];
  assert.deepEqual(OPTIONS.map((o) => o.env), documented);
  const secret = OPTIONS.filter((o) => o.secret).map((o) => o.env);
  assert.deepEqual(secret, ["DATABASE_URL", "PG_PROXY_PASSWORD", "AUTH_JWT_KEY"]);
  for (const o of OPTIONS) assert.ok(o.doc.length > 0, o.env);
  assert.ok(Object.isFrozen(OPTIONS));
  const defaults = Object.fromEntries(OPTIONS.map((o) => [o.env, o.default]));
  assert.equal(defaults.HTTP_PORT, "5133");
  assert.equal(defaults.ELECTRIC_RESUMABLE_WAL_WINDOW, "2G");
  assert.equal(defaults.PG_PROXY_PORT, "65432");
});

test("LOG_FORMAT takes text or json", () => {
  const base = {
    DATABASE_URL: "postgresql://u:p@h/db",
    PG_PROXY_PASSWORD: "x",
    AUTH_MODE: "insecure",
    ELECTRIC_WRITE_TO_PG_MODE: "direct_writes",
  };
  const json = loadConfig({ ...base, LOG_FORMAT: "json" });
  assert.ok(json.ok && json.config.logFormat === "json");
  const bad = loadConfig({ ...base, LOG_FORMAT: "xml" });
  assert.ok(!bad.ok);
  assert.match(
    bad.problems.map((p) => p.message).join("\n"),
    /LOG_FORMAT has invalid value: "xml"/,
  );
});
