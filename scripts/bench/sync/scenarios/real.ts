/**
 * Scenarios a and b with the real electric-sql@0.12.1 client (Node, better-sqlite3): a fresh
 * service over a `rows`-row table; `sync()` of the whole table until `synced` resolved and
 * SQLite holds every row, then commit → row visible in SQLite for paced single-row writes
 * (the writer runs in the client's process; see real_client.mjs).
 */
import { type BenchService, connectSql, electrifyItems, fillItems, freshDatabase } from "../env.ts";
import {
  type Ctx,
  type Figures,
  figures,
  latencyFigures,
  startScenarioService,
} from "../context.ts";
import { runRealClient } from "../real_driver.ts";
import { someIds } from "../writer.ts";

/** The real client acks every transaction once it has applied floor(0.7 × 30) = 21. */
const REAL_WARMUP = 25;

export async function realClient(ctx: Ctx): Promise<Figures> {
  const out = figures();
  const { rows, bSamples, bRate } = ctx.sizes;
  const db = await freshDatabase(ctx.server, "real");
  const sql = connectSql(db.url);
  let service: BenchService | undefined;
  try {
    await fillItems(sql, rows);
    service = await startScenarioService(ctx, db.url);
    await electrifyItems(sql, service);
    const result = await runRealClient({
      serviceUrl: `http://127.0.0.1:${service.port}`,
      databaseUrl: db.url,
      rows,
      latency: {
        rate: bRate,
        samples: REAL_WARMUP + bSamples,
        warmup: REAL_WARMUP,
        insertValue: "b",
        updateIds: await someIds(sql, 100),
      },
    });
    out.values["a.real"] = rows / (result.initial.ms / 1000);
    out.values["a.real.ms"] = result.initial.ms;
    ctx.log(`a real: ${rows} rows in ${result.initial.ms.toFixed(0)} ms`);
    latencyFigures(out, "b.real", result.latency!);
    ctx.log(`b real: p50 ${out.values["b.real.p50"]?.toFixed(2)} ms`);
  } finally {
    await service?.stop();
    await sql.end();
    await db.drop();
  }
  return out;
}
