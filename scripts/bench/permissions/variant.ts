/**
 * One variant of the permissions benchmark on a fresh database and a fresh service:
 *
 *   with permissions: the read rule of issue 17; every user subscribes to all of issues and
 *     the service narrows it to the user's project;
 *   without (baseline): no rule; every user subscribes to issues where
 *     `this.project_id = '<their project>'`: the same rows, so the difference is what
 *     enforcing permissions costs.
 *
 * Phases: all users connect, authenticate and start replication (timed); all subscribe at
 * once (timed until the last SatSubsDataEnd; each user's rows are checked to be exactly their
 * project's); then paced single-row writes spread over the projects (latency to every member
 * of the write's project; a write reaching anyone else fails the run), with the service's CPU
 * time meanwhile and its peak RSS (VmHWM) at the end.
 */
import type postgres from "postgres";
import {
  connectSql,
  cpuSeconds,
  freshDatabase,
  memoryOf,
  type Runtime,
  sampleRss,
  type Server,
  startBenchService,
} from "../sync/env.ts";
import { type Figures, figures, latencyFigures, until, withTimeout } from "../sync/context.ts";
import { LightClient, type Shape, startAckTimer } from "../sync/light_client.ts";
import { forEachRowMarker } from "../sync/oplog_scan.ts";
import { MARKER_BASE } from "../sync/writer.ts";
import { InitialTally, ScopedLatencyBook } from "./scoped_book.ts";
import {
  createTables,
  electrifyAll,
  grantMembersRead,
  issuesRelationId,
  type Layout,
  probeAccess,
  projectId,
  projectOfUser,
  projectTotals,
  userId,
  users,
} from "./setup.ts";

export interface VariantOptions {
  server: Server;
  runtime: Runtime;
  layout: Layout;
  permissions: boolean;
  /** Measured writes per second and seconds of them (after the warm-up). */
  rate: number;
  seconds: number;
  log: (line: string) => void;
}

/** Column of n in issues (id, project_id, n, title): the rows' marker. */
const N_COLUMN = 2;
/** Users connecting at the same time. */
const CONNECT_CONCURRENCY = 10;
/** How long writes may take to arrive after the last one before they count as lost. */
const GRACE_MS = 30_000;
/** Rows of each project the live phase updates in turn. */
const UPDATED_PER_PROJECT = 50;

export async function runVariant(o: VariantOptions): Promise<Figures> {
  const out = figures();
  const { layout } = o;
  const tag = o.permissions ? "with" : "without";
  const db = await freshDatabase(o.server, `perm_${tag}`);
  const sql = connectSql(db.url);
  const writer = connectSql(db.url);
  let service: Awaited<ReturnType<typeof startBenchService>> | undefined;
  const clients: LightClient[] = [];
  try {
    await createTables(sql, layout);
    const totals = await projectTotals(sql, layout);
    const issues = await issuesRelationId(sql);
    service = await startBenchService(db.url, o.runtime);
    await electrifyAll(sql, service);
    if (o.permissions) await grantMembersRead(sql);
    await probeAccess(service, o.permissions);

    const count = users(layout);
    const latency: { book?: ScopedLatencyBook } = {};
    const tallies = Array.from(
      { length: count },
      (_, u) => new InitialTally(projectOfUser(layout, u), layout.projects, issues),
    );
    const connectStart = performance.now();
    let next = 0;
    const connectOne = async () => {
      while (next < count) {
        const u = next++;
        const client = await LightClient.connect({
          host: "127.0.0.1",
          port: service!.port,
          markerColumn: N_COLUMN,
          verify: u === 0,
          onTransaction: (marker) => latency.book?.received(u, marker),
          onShapeData: (frame) =>
            forEachRowMarker(frame, N_COLUMN, (n, relation) => tallies[u].row(n, relation)),
        });
        clients[u] = client;
        await client.authenticate(userId(u));
        await client.startReplication();
      }
    };
    await withTimeout(
      Promise.all(Array.from({ length: CONNECT_CONCURRENCY }, connectOne)),
      120_000,
      `${count} users to connect`,
    );
    out.values.connect_s = (performance.now() - connectStart) / 1000;

    const shapeOf = (u: number): Shape =>
      o.permissions ? { tablename: "issues" } : {
        tablename: "issues",
        where: `this.project_id = '${projectId(projectOfUser(layout, u))}'`,
      };
    const syncCpu = { service: cpuSeconds(service.pid), bench: cpuSeconds(process.pid) };
    const delivered = await withTimeout(
      Promise.all(clients.map((client, u) => client.subscribe(shapeOf(u)))),
      600_000,
      `${count} users' initial sync`,
    );
    const first = Math.min(...delivered.map((d) => d.requestedAt));
    const last = Math.max(...delivered.map((d) => d.endedAt));
    out.values.sync_s = (last - first) / 1000;
    out.values.cpu_sync_s = cpuSeconds(service.pid) - syncCpu.service;
    out.values.cpu_bench_sync_pct = (cpuSeconds(process.pid) - syncCpu.bench) /
      out.values.sync_s * 100;
    const wrong = tallies.flatMap((tally, u) => {
      const why = tally.mismatch(totals[tally.project]);
      return why ? [`${userId(u)} (project ${projectId(tally.project)}): ${why}`] : [];
    });
    if (wrong.length > 0) {
      throw new Error(
        `${wrong.length} users did not receive exactly their project's rows: ${
          wrong.slice(0, 5).join("; ")
        }`,
      );
    }
    out.values.other_rows = tallies.reduce((sum, t) => sum + t.otherTables, 0) / count;
    o.log(
      `${tag}: ${count} users synced ${totals[0].rows} rows each in ${
        out.values.sync_s.toFixed(2)
      } s`,
    );

    const stopAcks = startAckTimer(clients);
    // Every user past the ack threshold before the measured writes (as the sync scenarios).
    const warmup = (clients[0].ackThreshold + 4) * layout.projects;
    const book = new ScopedLatencyBook(
      warmup + Math.round(o.rate * o.seconds),
      layout.projects,
      layout.usersPerProject,
      warmup,
    );
    latency.book = book;
    const updateIds = await idsToUpdate(sql, layout);
    const rss = sampleRss(service.pid);
    const cpu0 = { service: cpuSeconds(service.pid), bench: cpuSeconds(process.pid) };
    const liveStart = performance.now();
    await paceScopedWrites(writer, book, o.rate, updateIds);
    await until(() => book.complete, GRACE_MS);
    const wall = (performance.now() - liveStart) / 1000;
    out.values.cpu_live_s = cpuSeconds(service.pid) - cpu0.service;
    out.values.cpu_live_pct = out.values.cpu_live_s / wall * 100;
    out.values.cpu_bench_pct = (cpuSeconds(process.pid) - cpu0.bench) / wall * 100;
    out.values.rss_live_mb = rss.stop() / 2 ** 20;
    out.values.rss_peak_mb = memoryOf(service.pid).hwm / 2 ** 20;
    stopAcks();
    latencyFigures(out, "live", book.latencies());
    const failures = [
      ...(book.leaks > 0
        ? [`${book.leaks} writes reached users of other projects, e.g. ${book.leakExample}`]
        : []),
      ...(out.values["live.lost"] > 0
        ? [`${out.values["live.lost"]} receipts missing ${GRACE_MS / 1000} s after the last write`]
        : []),
      ...clients.flatMap((c, u) => c.errors.map((e) => `${userId(u)}: ${e}`)).slice(0, 5),
      ...clients.flatMap((c, u) => c.closed ? [`${userId(u)} was disconnected`] : []).slice(0, 5),
    ];
    if (failures.length > 0) throw new Error(`${tag}: ${failures.join("; ")}`);
    o.log(
      `${tag}: live p50 ${out.values["live.p50"].toFixed(2)} ms, p99 ${
        out.values["live.p99"].toFixed(2)
      } ms, service CPU ${out.values.cpu_live_s.toFixed(2)} s, peak RSS ${
        out.values.rss_peak_mb.toFixed(0)
      } MB`,
    );
  } finally {
    for (const client of clients) client?.close();
    await service?.stop();
    await writer.end();
    await sql.end();
    await db.drop();
  }
  return out;
}

async function idsToUpdate(sql: postgres.Sql, layout: Layout): Promise<string[][]> {
  const ids: string[][] = [];
  for (let p = 0; p < layout.projects; p++) {
    const rows = await sql<{ id: string }[]>`
      SELECT id::text FROM issues WHERE project_id = ${projectId(p)}
       ORDER BY n LIMIT ${UPDATED_PER_PROJECT}`;
    ids.push(rows.map((r) => r.id));
  }
  return ids;
}

/**
 * Writes `book.samples` paced single-row autocommit statements, write s for project
 * s mod projects: rounds over the projects alternate between inserting a new issue and
 * updating an existing one, each setting n to the write's marker.
 */
async function paceScopedWrites(
  sql: postgres.Sql,
  book: ScopedLatencyBook,
  rate: number,
  updateIds: string[][],
): Promise<void> {
  const interval = 1000 / rate;
  const start = performance.now();
  for (let s = 0; s < book.samples; s++) {
    const wait = start + s * interval - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const project = book.projectOf(s);
    const marker = MARKER_BASE + s;
    const round = Math.floor(s / book.projects);
    const ids = updateIds[project];
    if (round % 2 === 0 || ids.length === 0) {
      await sql`INSERT INTO issues (id, project_id, n, title)
                VALUES (gen_random_uuid(), ${projectId(project)}, ${marker}, 'live')`;
    } else {
      await sql`UPDATE issues SET n = ${marker}, title = 'updated'
                 WHERE id = ${ids[(round >> 1) % ids.length]}`;
    }
    book.commitAt[s] = performance.now();
  }
}
