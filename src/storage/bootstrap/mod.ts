/**
 * Installation of the service's objects in Postgres: the `electric` schema (versioned steps
 * under an advisory lock) and the publication. Must not start replication or touch user
 * tables; electrification and the replication stream build on what is installed here.
 */
export {
  BOOTSTRAP_LOCK_KEY,
  bootstrapElectricSchema,
  type BootstrapOptions,
  type BootstrapResult,
} from "./bootstrap.ts";
export { ensurePublication } from "./publication.ts";
export { INSTALL_STEPS, type InstallStep } from "./steps.ts";
