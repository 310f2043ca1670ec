/**
 * The running service with the migrations proxy on its own port, on a fresh database: what
 * the end-to-end proxy tests start before their tests and stop after them.
 */
import postgres from "postgres";
import { findFreePort } from "../../src/embedded/mod.ts";
import { freshDatabase } from "./pg_cluster.ts";
import { serviceEnv } from "./service_config.ts";
import { isListening, type ServiceProcess, startService } from "./service_process.ts";
import { waitFor } from "./wait.ts";

export interface ProxyService {
  db: Awaited<ReturnType<typeof freshDatabase>>;
  /** A direct connection to the database, not through the proxy. */
  sql: postgres.Sql;
  httpPort: number;
  proxyPort: number;
  service: ServiceProcess;
  stop(): Promise<void>;
}

/** Starts it and waits for the status page and the proxy port; `overHttp`: `http:<port>`. */
export async function startProxyService(
  options: { overHttp?: boolean } = {},
): Promise<ProxyService> {
  const db = await freshDatabase();
  const sql = postgres(db.url, { onnotice: () => {}, max: 2 });
  const httpPort = await findFreePort();
  const proxyPort = await findFreePort();
  const service = startService(
    await serviceEnv(db.url, httpPort, {
      PG_PROXY_PORT: options.overHttp ? `http:${proxyPort}` : String(proxyPort),
    }),
  );
  await service.waitForStatus(httpPort, 200, 30_000);
  await waitFor(() => isListening(proxyPort), { timeoutMs: 15_000, what: "the proxy port" });
  return {
    db,
    sql,
    httpPort,
    proxyPort,
    service,
    stop: async () => {
      service.kill();
      await sql.end();
      await db.drop();
    },
  };
}
