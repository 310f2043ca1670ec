/**
 * Scenarios a (raw client) and b (raw client), with the g figures they pass by: one light
 * client on a fresh service over a `rows`-row table. RSS idle (electrified, no client, after a
 * second), initial sync of the whole table (subscribe request → SatSubsDataEnd), RSS a second
 * after it, then commit → client latency of paced single-row writes while the client holds the
 * subscription and acks like the real client. This client also decodes every transaction frame
 * fully and checks the cheap scan against it.
 */
import {
  type BenchService,
  connectSql,
  electrifyItems,
  fillItems,
  freshDatabase,
  memoryOf,
} from "../env.ts";
import {
  type Ctx,
  type Figures,
  figures,
  latencyFigures,
  problems,
  settle,
  startScenarioService,
  until,
} from "../context.ts";
import { LightClient } from "../light_client.ts";
import { LatencyBook, paceWrites, someIds } from "../writer.ts";

export async function singleRawClient(ctx: Ctx): Promise<Figures> {
  const out = figures();
  const { rows, bSamples, bRate } = ctx.sizes;
  const db = await freshDatabase(ctx.server, "single");
  const sql = connectSql(db.url);
  const writer = connectSql(db.url);
  let service: BenchService | undefined;
  try {
    await fillItems(sql, rows);
    service = await startScenarioService(ctx, db.url);
    await electrifyItems(sql, service);
    await settle(1000);
    out.values["g.idle"] = memoryOf(service.pid).rss;

    // Set once the clients are up; receipts before that (migrations, warm-up) are ignored.
    const latency: { book?: LatencyBook } = {};
    const client = await LightClient.connect({
      host: "127.0.0.1",
      port: service.port,
      markerColumn: 2,
      verify: true,
      onTransaction: (marker) => latency.book?.received(0, marker),
    });
    await client.authenticate();
    await client.startReplication();
    const delivered = await client.subscribe({ tablename: "items" });
    if (delivered.rows !== rows) {
      throw new Error(`The raw client received ${delivered.rows} of ${rows} rows`);
    }
    const ms = delivered.endedAt - delivered.requestedAt;
    out.values["a.raw"] = rows / (ms / 1000);
    out.values["a.raw.ms"] = ms;
    ctx.log(`a raw: ${rows} rows in ${ms.toFixed(0)} ms`);
    await settle(1000);
    out.values["g.synced"] = memoryOf(service.pid).rss;

    // Warm-up: past the client's ack threshold, so every measured write is acked at once.
    const warmup = client.ackThreshold + 4;
    const book = new LatencyBook(warmup + bSamples, 1, warmup);
    latency.book = book;
    const ids = await someIds(sql, 100);
    await paceWrites(writer, book, { rate: bRate, insertValue: "b", updateIds: ids });
    await until(() => book.complete, 30_000);
    latencyFigures(out, "b.raw", book.latencies());
    problems(out, "a/b raw", client);
    ctx.log(`b raw: p50 ${out.values["b.raw.p50"]?.toFixed(2)} ms`);
    client.close();
  } finally {
    await service?.stop();
    await writer.end();
    await sql.end();
    await db.drop();
  }
  return out;
}
