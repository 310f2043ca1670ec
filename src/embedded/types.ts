/** Public types of the embedded cluster manager (re-exported by `mod.ts`). */

export interface ClusterOptions {
  /** Data directory, e.g. `./.electric/pgdata` (dev) or a temp dir (tests). */
  dataDir: string;
  /** Default: the port saved by the previous run if it is still free, else any free port. */
  port?: number;
  /** Default `"logical"`. */
  walLevel?: "logical" | "replica";
  /** Default: env `POSTGRES_BIN_DIR`, then well-known install dirs, then `initdb` on PATH. */
  binDir?: string;
  /** Extra `-c name=value` server settings. */
  extraSettings?: Record<string, string>;
}

export interface RunningCluster {
  /** `postgresql://postgres@127.0.0.1:<port>/postgres?sslmode=disable` (trust auth on loopback). */
  url: string;
  port: number;
  dataDir: string;
  /** True when initdb ran during this `startCluster` call. */
  createdNow: boolean;
  /** Fast shutdown, resolves once stopped; idempotent. A no-op for a postmaster we did not start. */
  stop(): Promise<void>;
}

export type ClusterErrorCode = "POSTGRES_BINARIES_MISSING" | "INITDB_FAILED" | "START_FAILED";

export type ClusterError = { code: ClusterErrorCode; message: string; hint?: string };

export type StartClusterResult =
  | { ok: true; cluster: RunningCluster }
  | { ok: false; error: ClusterError };
