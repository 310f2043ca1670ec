/**
 * Types of the resolved configuration. Kept apart from the parsing code so consumers and
 * tests can name them without pulling in the option table.
 */

export type WriteMode = "logical_replication" | "direct_writes";

/** Logger levels; the input `warn` is normalised to `warning`. */
/** LOG_FORMAT: human-readable lines or one JSON object a line. */
export type LogFormat = "text" | "json";

export type LogLevel =
  | "emergency"
  | "alert"
  | "critical"
  | "error"
  | "warning"
  | "notice"
  | "info"
  | "debug";

export type SslMode = "disable" | "allow" | "prefer" | "require";

export interface DatabaseConfig {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
  /** From the `sslmode` URL query parameter, if given. */
  sslMode?: SslMode;
  /** The resolved decision (doc 1.3.2): `DATABASE_REQUIRE_SSL` wins over `sslmode`. */
  requireSsl: boolean;
  /** `DATABASE_USE_IPV6`: resolve the host to IPv6 first, falling back to IPv4. */
  useIpv6: boolean;
  /** Always 5000. */
  connectTimeoutMs: number;
}

export type JwtAlg =
  | "HS256"
  | "HS384"
  | "HS512"
  | "RS256"
  | "RS384"
  | "RS512"
  | "ES256"
  | "ES384"
  | "ES512";

export type AuthConfig =
  | { mode: "insecure"; namespace?: string }
  | {
    mode: "secure";
    alg: JwtAlg;
    /** HS*: the raw secret bytes (base64-decoded when asked to); RS* and ES*: the PEM text. */
    key: Uint8Array | string;
    issuer?: string;
    audience?: string;
    namespace?: string;
  };

export interface Config {
  database: DatabaseConfig;
  httpPort: number;
  /** `ELECTRIC_USE_IPV6`: listeners bind `::` (dual stack) when true, `0.0.0.0` when false. */
  listenIpv6: boolean;
  writeMode: WriteMode;
  /** `host` is only set in `logical_replication` mode; `direct_writes` ignores it. */
  logicalPublisher: { host?: string; port: number };
  proxy: {
    password: string;
    port: number;
    httpTunnel: boolean;
    tracing: boolean;
    /** PG_PROXY_AUTH_TIMEOUT, in ms: how long a connection may take to log in. */
    authTimeoutMs: number;
  };
  logLevel: LogLevel;
  logFormat: LogFormat;
  auth: AuthConfig;
  /** Bytes. */
  resumableWalWindow: number;
  /** Bytes. */
  txnCacheSize: number;
  /** `ELECTRIC_INSTANCE_ID`, or a random UUID v4 per start. */
  instanceId: string;
  /**
   * Whether `ELECTRIC_INSTANCE_ID` was set (non-empty): the instance's slots, persisted
   * position and subscription are then named after it (storage `instanceNames`).
   */
  instanceIdFixed: boolean;
  /** `ELECTRIC_INSTANCE_EXPIRY`, ms: silence after which an instance's slots are dropped. */
  instanceExpiryMs: number;
  /** Nothing is ever sent unless `endpoint` (`ELECTRIC_TELEMETRY_URL`) is set. */
  telemetry: { enabled: boolean; endpoint?: string };
  /** Resolved flags (doc 1.3.7); read them through `featureEnabled()`. */
  features: Readonly<Record<string, boolean>>;
  statsdHost?: string;
  metricsPeriodMs: number;
  /** `ELECTRIC_METRICS`: false leaves every part without a registry (and no outputs). */
  metricsEnabled: boolean;
}

/**
 * One bad variable. `message` is the whole entry text and always starts with the variable
 * name. `group` picks the banner: "required" is error box #1, "size" box #2, "fatal" the
 * one-line hard failures of doc 1.4.
 */
export interface ConfigProblem {
  variable: string;
  message: string;
  group: "required" | "size" | "fatal";
}

export type LoadConfigResult =
  | { ok: true; config: Readonly<Config> }
  | { ok: false; problems: ConfigProblem[] };
