/**
 * Embedded Postgres: a local cluster manager for the service's `dev` mode and for tests.
 *
 * Owns a data directory and the postmaster it starts: initdb on first use, start on a free
 * (preferably last-used) port bound to 127.0.0.1 with `wal_level=logical`, readiness polling,
 * fast shutdown. A postmaster already running on the data dir is reused and left running.
 * Beside the data dir it keeps `<dataDir>.log` (server output) and `<dataDir>.port`.
 *
 * It must not read configuration beyond POSTGRES_BIN_DIR, nor throw for expected failures:
 * those come back as `ClusterError` values with a `code` (and an install hint where useful).
 * When running as root, the binaries run as the `postgres` system user.
 */

export type {
  ClusterError,
  ClusterErrorCode,
  ClusterOptions,
  RunningCluster,
  StartClusterResult,
} from "./types.ts";
export { clusterUrl, startCluster } from "./cluster.ts";
export { findPostgresBinaries, INSTALL_HINT } from "./binaries.ts";
export { findFreePort } from "./port.ts";
export { type PostmasterPid, readPostmasterPid } from "./postmaster_pid.ts";
