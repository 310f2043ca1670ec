/**
 * Where a client's stream starts (satellite-protocol.md §3.3, §7.7): a fresh client from the
 * position the schema catalog has caught up to; a resuming client from the position it sends,
 * with the subscriptions it lists. Nothing per row is needed for that: stateless groups are
 * active from the resume position on (their filtering needs no history), and graph groups come
 * back through a rejoin at the next insertion point, which sends the client what changed in
 * their membership since its position (src/sync/transition.ts).
 */
import {
  SatInStartReplicationResp_ReplicationError_Code as ReplicationErrorCode,
} from "../../gen/mod.ts";
import type { MigrationEntry, SchemaCatalog } from "../../migrations/mod.ts";
import { capturedStatements } from "../../migrations/mod.ts";
import type { TransactionLog } from "../../replication/mod.ts";
import { EMPTY_SCHEMA, type SchemaModel } from "../../schema/mod.ts";
import type { RowKey } from "../../shapes/mod.ts";
import type { Sql } from "../../storage/mod.ts";
import {
  type ClientStore,
  type PlannedGroup,
  type ShapeHub,
  startTransition,
} from "../../sync/mod.ts";
import type { ClientShapes } from "./client_shapes.ts";
import type { Unit } from "./client_stream.ts";

export interface StartContext {
  clientId: string;
  log: TransactionLog;
  catalog: SchemaCatalog;
  store: ClientStore;
  hub: ShapeHub;
  pool: () => Sql | undefined;
  shapes: ClientShapes;
}

export interface StreamStart {
  lsn: bigint;
  model: SchemaModel;
  /** Migration versions the client already has. */
  known: string[];
  /** Groups active from `lsn` on. */
  groups: PlannedGroup[];
}

export type StartOutcome =
  | { ok: true; start: StreamStart; migrations: MigrationEntry[]; rejoin?: Unit }
  | { ok: false; code: ReplicationErrorCode; message: string };

/** How long a resume waits for the stream to reach the client's position after a restart. */
const RESUME_CATCH_UP_MS = 30_000;

const BEHIND = {
  ok: false as const,
  code: ReplicationErrorCode.BEHIND_WINDOW,
  message: "Cannot catch up to the server's current state",
};

function truncateId(id: string): string {
  return id.length > 128 ? `${id.slice(0, 128)}...` : id;
}

/** The current end of the stream; waits briefly for a log that has not started yet. */
async function streamPosition(log: TransactionLog): Promise<bigint> {
  for (let i = 0; i < 100; i++) {
    const end = log.endLsn();
    if (end !== undefined) return end;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return 0n;
}

/**
 * Right after a restart the stream replays recent history before it reaches the positions
 * clients hold. A position Postgres has written is reached once that replay is through, so it
 * is waited for; a position beyond Postgres' WAL (a restored or replaced database) never is.
 */
async function streamReached(ctx: StartContext, lsn: bigint): Promise<boolean> {
  if ((ctx.log.endLsn() ?? -1n) >= lsn) return true;
  const sql = ctx.pool();
  if (sql) {
    const written = await currentWalLsn(sql).catch(() => undefined);
    if (written !== undefined && lsn > written) return false;
  }
  return await ctx.log.reach(lsn, RESUME_CATCH_UP_MS);
}

async function currentWalLsn(sql: Sql): Promise<bigint> {
  const [row] = await sql<{ lsn: string }[]>`
    SELECT (pg_current_wal_lsn() - '0/0'::pg_lsn)::text AS lsn`;
  return BigInt(row.lsn);
}

/**
 * A first-time client: it starts where the schema catalog has caught up to, so every
 * migration after it still arrives through the stream (already sent ones are stripped).
 */
export async function freshStart(
  ctx: StartContext,
  schemaVersion: string | undefined,
): Promise<StartOutcome> {
  await ctx.store.forget(ctx.clientId);
  const { catalog, log } = ctx;
  const end = await streamPosition(log);
  const processed = catalog.processedLsn();
  let lsn: bigint;
  if (processed !== undefined) lsn = processed < end ? processed : end;
  else {
    const first = log.firstLsn();
    lsn = first !== undefined ? first - 1n : end;
  }
  const known = schemaVersion ? catalog.get(schemaVersion) : undefined;
  const missing = catalog.after(schemaVersion) ?? [];
  const sending = new Set(missing.map((entry) => entry.version));
  return {
    ok: true,
    start: {
      lsn,
      model: known?.model ?? EMPTY_SCHEMA,
      known: catalog.all().filter((e) => !sending.has(e.version)).map((e) => e.version),
      groups: [],
    },
    migrations: missing,
  };
}

/** A client resuming from `lsn` with the subscriptions it has applied. */
export async function resumeStart(
  ctx: StartContext,
  lsn: bigint,
  subscriptionIds: readonly string[],
): Promise<StartOutcome> {
  const { log, catalog, store, clientId } = ctx;
  if (!(await streamReached(ctx, lsn))) return BEHIND;
  const acknowledged = await store.acknowledged(clientId);
  const stored = await store.subscriptions(clientId);
  const byId = new Map(stored.map((s) => [s.id, s]));
  for (const id of subscriptionIds) {
    if (!byId.has(id)) {
      return {
        ok: false,
        code: ReplicationErrorCode.SUBSCRIPTION_NOT_FOUND,
        message: `Unknown subscription: ${truncateId(id)}`,
      };
    }
  }
  if (subscriptionIds.length > 0 && acknowledged !== undefined && lsn < acknowledged) {
    return {
      ok: false,
      code: ReplicationErrorCode.INVALID_POSITION,
      message: "LSN is before the already acknowledged one",
    };
  }
  // Subscriptions the client no longer lists were removed and their GONE batch applied.
  const dropped = stored.filter((s) => !subscriptionIds.includes(s.id)).map((s) => s.id);
  if (dropped.length > 0) await store.removeSubscriptions(clientId, dropped);
  const read = await log.readAfter(lsn);
  if (read.kind === "behind_window") return BEHIND;
  // The client knows the schema as of the last migration before the ones still to stream.
  const upcoming = read.transactions.filter((tx) => tx.lsn > lsn)
    .flatMap((tx) => capturedStatements(tx).map((group) => BigInt(group[0].txid)));
  const firstUpcoming = upcoming.length > 0
    ? upcoming.reduce((a, b) => (a < b ? a : b))
    : undefined;
  const model = firstUpcoming !== undefined
    ? catalog.modelBefore(firstUpcoming)
    : catalog.current();
  const known = catalog.all()
    .filter((entry) => firstUpcoming === undefined || entry.txid < firstUpcoming)
    .map((entry) => entry.version);

  const planned = ctx.shapes.restore(
    subscriptionIds.map((id) => byId.get(id)!.plan),
    catalog.current(),
  );
  const stateless = planned.filter((g) => g.definition.stateless);
  const start = { lsn, model, known, groups: stateless };
  if (stateless.length === planned.length) return { ok: true, start, migrations: [] };
  const sql = ctx.pool();
  if (!sql) return { ok: false, code: ReplicationErrorCode.CODE_UNSPECIFIED, message: "Not ready" };
  let changed!: (keys: Set<RowKey>) => void;
  const changedKeys = new Promise<Set<RowKey>>((resolve) => changed = resolve);
  const transition = startTransition(ctx.hub, {
    kind: "rejoin",
    from: stateless,
    to: planned,
    base: log.endLsn() ?? lsn,
    sql,
    causedBy: `resume:${clientId}`,
    rejoin: { position: lsn, changedKeys },
  });
  return { ok: true, start, migrations: [], rejoin: { kind: "rejoin", transition, changed } };
}
