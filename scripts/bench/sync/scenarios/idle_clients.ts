/**
 * Scenario g, per idle client: a fresh service; `clients` light clients connect, authenticate
 * and start replication (receiving the migration of `items`) without subscribing.
 *
 * The first tenth (at least 5) warm the service up: the first connections pay for code that is
 * compiled and pools that are filled once per process, which is not a cost per client. The
 * headline is the slope over the rest: the service's VmRSS a second after the last client
 * minus VmRSS a second after the warm-up batch, divided by the clients in between. The all-in
 * figure (from before the first client, over every client) is kept as a detail.
 */
import { connectSql, electrifyItems, freshDatabase, memoryOf, startBenchService } from "../env.ts";
import {
  type Ctx,
  type Figures,
  figures,
  settle,
  startClients,
  until,
  warmUpClients,
} from "../context.ts";
import type { LightClient } from "../light_client.ts";

export async function idleClients(ctx: Ctx): Promise<Figures> {
  const out = figures();
  const count = ctx.sizes.clients;
  const warm = warmUpClients(count);
  const db = await freshDatabase(ctx.server, "g");
  const sql = connectSql(db.url);
  let service: Awaited<ReturnType<typeof startBenchService>> | undefined;
  const everyone: LightClient[] = [];
  try {
    service = await startBenchService(db.url, ctx.runtime);
    await electrifyItems(sql, service);
    const connect = async (n: number) => {
      const { clients } = await startClients(n, {
        host: "127.0.0.1",
        port: service!.port,
        concurrency: 50,
      });
      everyone.push(...clients);
      // Each has the migration transaction of items once its stream is running.
      await until(() => clients.every((c) => c.applied >= 1), 60_000);
      await settle(1000);
    };
    await settle(1000);
    const idle = memoryOf(service.pid).rss;
    await connect(warm);
    const warmed = memoryOf(service.pid).rss;
    await connect(count - warm);
    const after = memoryOf(service.pid).rss;
    const slope = (after - warmed) / (count - warm);
    out.values["g.per_client"] = slope;
    out.values["g.per_client_all"] = (after - idle) / count / 1024;
    out.values["g.idle_clients"] = count;
    ctx.log(
      `g: ${count} idle clients, ${(slope / 1024).toFixed(1)} KiB each after ${warm} warmed up ` +
        `(${((after - idle) / count / 1024).toFixed(1)} KiB each all in)`,
    );
  } finally {
    for (const client of everyone) client.close();
    await service?.stop();
    await sql.end();
    await db.drop();
  }
  return out;
}
