/**
 * `dev` mode: zero-setup local development. Without DATABASE_URL it starts a local Postgres
 * cluster in `./.electric/pgdata` with wal_level=logical (adopting one an earlier, crashed run
 * left running), and fills in the settings a developer would otherwise have to invent:
 * insecure auth, a proxy password and a publisher host. Anything set in the environment still
 * wins. It logs which server binaries it runs, what happened to the cluster and which OS user
 * the server runs as.
 *
 * Outside dev mode (plain `start`, the binary) none of this happens: a missing DATABASE_URL
 * is a configuration error like any other.
 */
import { type ClusterError, type RunningCluster, startCluster } from "./embedded/mod.ts";
import { createLogger } from "./telemetry/mod.ts";

export const DEV_DATA_DIR = "./.electric/pgdata";

/** Defaults applied under the user's environment in dev mode. */
export const DEV_DEFAULTS: Readonly<Record<string, string>> = {
  AUTH_MODE: "insecure",
  PG_PROXY_PASSWORD: "proxy_password",
  LOGICAL_PUBLISHER_HOST: "localhost",
};

export type DevEnvironment =
  | { ok: true; env: Record<string, string | undefined>; cluster?: RunningCluster }
  | { ok: false; error: ClusterError };

export interface DevOptions {
  /** Default: env ELECTRIC_DEV_DATA_DIR, else `./.electric/pgdata`. */
  dataDir?: string;
  /** Where the local-Postgres lines go; default the service's log format on stdout. */
  log?: (line: string) => void;
}

const SOURCE_LABEL = {
  explicit: "POSTGRES_BIN_DIR",
  system: "system install",
  npm: "npm package",
} as const;

/**
 * What dev mode says about the local cluster: the binaries, how it got the postmaster, then
 * the OS user the server runs as.
 */
export function describeCluster(cluster: RunningCluster): string[] {
  const { binaries, pid, port } = cluster;
  const lines = [
    `Local Postgres: PostgreSQL ${binaries.version} from ${binaries.dir} (${
      SOURCE_LABEL[binaries.source]
    })`,
  ];
  if (cluster.origin === "adopted") {
    lines.push(
      `Local Postgres: adopted the postmaster an earlier run left running (pid ${pid}, port ${port}); ` +
        "it stops when this service stops",
    );
  } else if (cluster.origin === "shared") {
    lines.push(
      `Local Postgres: using the postmaster another running process started (pid ${pid}, port ${port}); ` +
        "it keeps running when this service stops",
    );
  } else {
    const created = cluster.createdNow ? "created and " : "";
    lines.push(
      `Local Postgres: ${created}started (pid ${pid}, port ${port}) in ${cluster.dataDir}`,
    );
  }
  const { name, reason } = cluster.serverUser;
  lines.push(`Local Postgres: runs as OS user "${name}" (${reason})`);
  return lines;
}

/** The service's log line format; LOG_LEVEL is not loaded yet when dev mode starts. */
function infoLog(): (line: string) => void {
  const logger = createLogger({ level: "info" });
  return (line) => logger.info(line);
}

export async function prepareDevEnvironment(
  env: Readonly<Record<string, string | undefined>>,
  options: DevOptions = {},
): Promise<DevEnvironment> {
  const merged = { ...DEV_DEFAULTS, ...env };
  if (env.DATABASE_URL !== undefined && env.DATABASE_URL.trim() !== "") {
    return { ok: true, env: merged };
  }
  const dataDir = options.dataDir ?? (env.ELECTRIC_DEV_DATA_DIR || DEV_DATA_DIR);
  const started = await startCluster({ dataDir });
  if (!started.ok) return started;
  const log = options.log ?? infoLog();
  for (const line of describeCluster(started.cluster)) log(line);
  return {
    ok: true,
    env: { ...merged, DATABASE_URL: started.cluster.url },
    cluster: started.cluster,
  };
}
