/**
 * Scenario e: rows/s reaching one subscribed light client (whole `items` table, empty at
 * subscribe time) when `streamRows` rows arrive in `perTx`-row transactions.
 *
 * Like the bare-reader baseline, the WAL is there before the service reads it, so the figure is
 * the service's ceiling and not the writer's pace: the service process is paused (SIGSTOP)
 * while the rows are written and resumed (SIGCONT) afterwards; its sockets stay open and the
 * client stays subscribed. Rows/s from the first row at the client to the last.
 */
import {
  type BenchService,
  connectSql,
  cpuSeconds,
  electrifyItems,
  freshDatabase,
} from "../env.ts";
import {
  type Ctx,
  type Figures,
  figures,
  problems,
  startScenarioService,
  withTimeout,
} from "../context.ts";
import { LightClient } from "../light_client.ts";
import { insertInTransactions } from "../writer.ts";

export async function scenarioE(ctx: Ctx): Promise<Figures> {
  const out = figures();
  const { streamRows, perTx } = ctx.sizes;
  const db = await freshDatabase(ctx.server, "e");
  const sql = connectSql(db.url, 4);
  let service: BenchService | undefined;
  let paused = false;
  try {
    service = await startScenarioService(ctx, db.url);
    await electrifyItems(sql, service);
    let rows = 0;
    let first = 0;
    let last = 0;
    let done!: () => void;
    const all = new Promise<void>((resolve) => done = resolve);
    const client = await LightClient.connect({
      host: "127.0.0.1",
      port: service.port,
      markerColumn: -1,
      onTransaction: (_marker, count) => {
        if (count === 0) return;
        const now = performance.now();
        if (rows === 0) first = now;
        rows += count;
        last = now;
        if (rows >= streamRows) done();
      },
    });
    await client.authenticate();
    await client.startReplication();
    await client.subscribe({ tablename: "items" });

    process.kill(service.pid, "SIGSTOP");
    paused = true;
    await insertInTransactions(sql, streamRows, perTx);
    const cpu0 = { service: cpuSeconds(service.pid), bench: cpuSeconds(process.pid) };
    const resumedAt = performance.now();
    process.kill(service.pid, "SIGCONT");
    paused = false;
    await withTimeout(all, 600_000, `${streamRows} rows at the client (got ${rows})`);
    const wall = (performance.now() - resumedAt) / 1000;
    out.values["e.cpu_service"] = (cpuSeconds(service.pid) - cpu0.service) / wall * 100;
    out.values["e.cpu_bench"] = (cpuSeconds(process.pid) - cpu0.bench) / wall * 100;
    const rate = (rows - perTx) / ((last - first) / 1000);
    out.values["e.client"] = rate;
    ctx.log(`e: ${rows} rows at the client, ${rate.toFixed(0)} rows/s`);
    problems(out, "e", client);
    client.close();
  } finally {
    if (paused && service) process.kill(service.pid, "SIGCONT");
    await service?.stop();
    await sql.end();
    await db.drop();
  }
  return out;
}
