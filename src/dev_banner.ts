/**
 * What dev mode prints once the service is ready: where everything listens and the next steps
 * as commands to paste. A newcomer's next move is to create a table through the migrations
 * proxy, electrify it and generate the typed client, so those are spelled out with this run's
 * real ports and password.
 */
import type { Config } from "./config/mod.ts";
import { DEV_DEFAULTS } from "./dev_mode.ts";

export interface DevBannerInput {
  config: Readonly<Config>;
  /** The local Postgres dev mode started (or adopted), if any. */
  cluster?: { url: string; dataDir: string };
}

/** The proxy's URL with a password a user can paste: the dev default itself, else the variable. */
function proxyUrl(config: Readonly<Config>, user: string): string {
  const password = config.proxy.password === DEV_DEFAULTS.PG_PROXY_PASSWORD
    ? config.proxy.password
    : "$PG_PROXY_PASSWORD";
  const host = config.proxy.httpTunnel ? "localhost" : `localhost:${config.proxy.port}`;
  return `postgresql://${user}:${password}@${host}/${config.database.database}`;
}

export function devBanner({ config, cluster }: DevBannerInput): string[] {
  const http = `http://localhost:${config.httpPort}`;
  const proxy = proxyUrl(config, "postgres");
  const lines = [
    `Electric is ready (dev mode, auth ${config.auth.mode}).`,
    `  Status page:      ${http}/  (figures as JSON: ${http}/api/status?format=json)`,
    `  Satellite:        ws://localhost:${config.httpPort}/ws`,
  ];
  if (config.proxy.httpTunnel) {
    lines.push(`  Migrations proxy: tunnelled over ${http}/proxy (PG_PROXY_PORT=http)`);
  } else {
    lines.push(`  Migrations proxy: ${proxy}`);
  }
  if (cluster) lines.push(`  Local Postgres:   ${cluster.url} (data in ${cluster.dataDir})`);
  if (config.proxy.httpTunnel) return lines;
  lines.push(
    "Next steps:",
    "  1. Create a table and electrify it through the proxy:",
    `     psql "${proxy}" -c "CREATE TABLE items (id text PRIMARY KEY, value text); ALTER TABLE items ENABLE ELECTRIC;"`,
    "  2. Generate the typed client in your app's folder:",
    `     npx electric-sql generate --service ${http} --proxy "${proxyUrl(config, "prisma")}"`,
    "  3. Connect the app with the electric-sql client to " + `ws://localhost:${config.httpPort}`,
  );
  return lines;
}
