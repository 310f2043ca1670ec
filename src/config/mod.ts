/**
 * Configuration: every environment variable the service reads, parsed and validated once at
 * start-up into a deeply frozen `Config` (doc section 1).
 *
 * This module owns the option table (`OPTIONS`, also the source of the README table) and the
 * problem messages. It must not read the process environment itself (the runtime layer passes
 * a plain record), print anything, or import other `src/` modules: it is a leaf.
 */
export type {
  AuthConfig,
  Config,
  ConfigProblem,
  DatabaseConfig,
  JwtAlg,
  LoadConfigResult,
  LogFormat,
  LogLevel,
  SslMode,
  WriteMode,
} from "./types.ts";
export { loadConfig } from "./load.ts";
export { JWT_ALGS } from "./auth.ts";
export { featureEnabled } from "./features.ts";
export { OPTIONS } from "./options.ts";
export { parseByteSize } from "./size.ts";
export { sanitizeDatabaseUrl } from "./database_url.ts";
