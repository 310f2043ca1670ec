/**
 * Scenario g, per idle client: a fresh service; `clients` light clients connect, authenticate
 * and start replication (receiving the migration of `items`) without subscribing. The
 * service's VmRSS a second after the last one, minus VmRSS a second before the first, divided
 * by the number of clients.
 */
import { connectSql, electrifyItems, freshDatabase, memoryOf, startBenchService } from "../env.ts";
import { type Ctx, type Figures, figures, settle, startClients, until } from "../context.ts";

export async function idleClients(ctx: Ctx): Promise<Figures> {
  const out = figures();
  const count = ctx.sizes.clients;
  const db = await freshDatabase(ctx.server, "g");
  const sql = connectSql(db.url);
  let service: Awaited<ReturnType<typeof startBenchService>> | undefined;
  try {
    service = await startBenchService(db.url, ctx.runtime);
    await electrifyItems(sql, service);
    await settle(1000);
    const before = memoryOf(service.pid).rss;
    const { clients } = await startClients(count, {
      host: "127.0.0.1",
      port: service.port,
      concurrency: 50,
    });
    // Each has the migration transaction of items once its stream is running.
    await until(() => clients.every((c) => c.applied >= 1), 60_000);
    await settle(1000);
    const after = memoryOf(service.pid).rss;
    out.values["g.per_client"] = (after - before) / count;
    out.values["g.idle_clients"] = count;
    ctx.log(`g: ${count} idle clients, ${((after - before) / count / 1024).toFixed(1)} KiB each`);
    for (const client of clients) client.close();
  } finally {
    await service?.stop();
    await sql.end();
    await db.drop();
  }
  return out;
}
