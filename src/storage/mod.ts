/**
 * The service's side of Postgres: connection settings, startup checks, the installed
 * `electric` schema, and the connector that keeps all of it available.
 * Must not know about clients, the proxy or HTTP.
 */
export {
  type ConnectorFatal,
  type ConnectorOptions,
  type ConnectorState,
  type ConnectorStatus,
  type ConnectorStep,
  PostgresConnector,
  type StepContext,
  type StepResource,
} from "./connector.ts";
export { createSqlClient, dedicatedConnection, SESSION_PARAMETERS, type Sql } from "./pg_client.ts";
export { backoffDelayMs } from "./backoff.ts";
export {
  classifyPgError,
  connectionLost,
  type PgFailure,
  type PgFailureCode,
} from "./pg_errors.ts";
export {
  checkServer,
  type PreflightProblem,
  readServerFacts,
  type ServerFacts,
} from "./preflight.ts";
export { resolveDatabaseHost } from "./host.ts";
export { bootstrapElectricSchema, ensurePublication, INSTALL_STEPS } from "./bootstrap/mod.ts";
export * from "./naming.ts";
export {
  expiredInstances,
  heartbeat,
  heartbeatInterval,
  instanceStep,
  reapExpired,
  reapInstance,
  registerInstance,
} from "./instances.ts";
