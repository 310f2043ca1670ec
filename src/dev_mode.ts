/**
 * `dev` mode: zero-setup local development. Without DATABASE_URL it starts (or reuses) a
 * local Postgres cluster in `./.electric/pgdata` with wal_level=logical, and fills in the
 * settings a developer would otherwise have to invent: insecure auth, a proxy password and a
 * publisher host. Anything set in the environment still wins.
 *
 * Outside dev mode (plain `start`, the binary) none of this happens: a missing DATABASE_URL
 * is a configuration error like any other.
 */
import { type ClusterError, type RunningCluster, startCluster } from "./embedded/mod.ts";

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

export async function prepareDevEnvironment(
  env: Readonly<Record<string, string | undefined>>,
  dataDir = env.ELECTRIC_DEV_DATA_DIR || DEV_DATA_DIR,
): Promise<DevEnvironment> {
  const merged = { ...DEV_DEFAULTS, ...env };
  if (env.DATABASE_URL !== undefined && env.DATABASE_URL.trim() !== "") {
    return { ok: true, env: merged };
  }
  const started = await startCluster({ dataDir });
  if (!started.ok) return started;
  return {
    ok: true,
    env: { ...merged, DATABASE_URL: started.cluster.url },
    cluster: started.cluster,
  };
}
