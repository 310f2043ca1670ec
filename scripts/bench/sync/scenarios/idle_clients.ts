/**
 * Scenario g, per idle client: a fresh service; `clients` light clients connect, authenticate
 * and start replication (receiving the migration of `items`) without subscribing.
 *
 * The first tenth (at least 5) warm the service up: the first connections pay for code that is
 * compiled and pools that are filled once per process, which is not a cost per client. The
 * headline is the slope over the rest: the service's VmRSS once settled after the last client
 * minus VmRSS once settled after the warm-up batch, divided by the clients in between.
 * "Settled" is 5 s after a batch: connecting leaves garbage (the upgrade request, handshake
 * frames) that the runtime collects within a couple of seconds, and idle clients stay idle.
 * The all-in figure (from before the first client, over every client) is kept as a detail,
 * beside the same slope for a bare WebSocket server of the same runtime (the floor).
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import {
  type Ctx,
  type Figures,
  figures,
  settle,
  startClients,
  startScenarioService,
  until,
  warmUpClients,
} from "../context.ts";
import {
  type BenchService,
  connectSql,
  electrifyItems,
  findFreePort,
  freshDatabase,
  memoryOf,
  ROOT,
  runtimeCommand,
} from "../env.ts";
import type { LightClient } from "../light_client.ts";
import { openWs, type Ws } from "../ws.ts";

const SETTLE_MS = 5_000;

export async function idleClients(ctx: Ctx): Promise<Figures> {
  const out = figures();
  const count = ctx.sizes.clients;
  const warm = warmUpClients(count);
  const db = await freshDatabase(ctx.server, "g");
  const sql = connectSql(db.url);
  let service: BenchService | undefined;
  const everyone: LightClient[] = [];
  try {
    service = await startScenarioService(ctx, db.url);
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
      await settle(SETTLE_MS);
    };
    await settle(SETTLE_MS);
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
  const bare = await bareServerSlope(ctx, count, warm);
  out.values["g.bare_ws"] = bare / 1024;
  ctx.log(`g: a bare WebSocket server: ${(bare / 1024).toFixed(1)} KiB per idle connection`);
  return out;
}

/** Bytes of VmRSS per idle connection on a bare WebSocket server, measured like the service. */
async function bareServerSlope(ctx: Ctx, count: number, warm: number): Promise<number> {
  const port = await findFreePort();
  const { command, args } = runtimeCommand(ctx.runtime);
  const child = spawn(command, [
    ...args,
    join(ROOT, "scripts/bench/sync/bare_ws_server.ts"),
    `${port}`,
  ], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const sockets: Ws[] = [];
  try {
    let said = "";
    child.stdout!.on("data", (chunk) => said += String(chunk));
    if (!await until(() => said.includes("listening"), 30_000)) {
      throw new Error("the bare WebSocket server did not start");
    }
    const connect = async (n: number) => {
      let answered = 0;
      for (let i = 0; i < n; i++) {
        const ws = await openWs({ host: "127.0.0.1", port, onMessage: () => answered++ });
        // About what a client sends before it idles (auth, startReplication).
        ws.send(new Uint8Array(256));
        sockets.push(ws);
      }
      await until(() => answered >= n, 60_000);
      await settle(SETTLE_MS);
    };
    await settle(SETTLE_MS);
    await connect(warm);
    const warmed = memoryOf(child.pid!).rss;
    await connect(count - warm);
    return (memoryOf(child.pid!).rss - warmed) / (count - warm);
  } finally {
    for (const ws of sockets) ws.close();
    child.kill();
  }
}
