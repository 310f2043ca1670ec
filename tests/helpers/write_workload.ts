/**
 * The write workload and checks shared by the fault tests (client_writes_faults_test.ts and
 * instances_test.ts): what each client writes (its own rows and rows all clients update, so
 * merges happen), an audit of every applied client transaction and row change (triggers that
 * fire in every replication role), and the comparisons of replicas and audit with what the
 * clients sent: every write applied exactly once, every replica equal to Postgres. The run
 * around them: starting the writing clients, their write loops, and the final resend and
 * checks (`checkFinalState`).
 */
import assert from "node:assert/strict";
import type postgres from "postgres";
import {
  type ClientOp,
  ResumingClient,
  type ResumingClientOptions,
  type Row,
  type TableSpec,
} from "./resuming_client.ts";
import { waitFor } from "./wait.ts";

export const SHARED_ROWS = 6;

export const TABLE: TableSpec = {
  name: "fault_rows",
  key: "id",
  columns: [
    { name: "id", type: "text" },
    { name: "owner", type: "int4" },
    { name: "n", type: "int4" },
    { name: "w", type: "text" },
  ],
};

/** The table, with the shared rows every client updates. */
export const SETUP = `
  CREATE TABLE fault_rows (id text PRIMARY KEY, owner int4, n int4, w text);
  INSERT INTO fault_rows SELECT 'shared-' || i, -1, 0, 'seed' FROM generate_series(0, ${
  SHARED_ROWS - 1
}) i;`;

/** Installed after electrification; names are qualified (the apply worker has no search path). */
export const AUDIT = `
  CREATE TABLE public.fault_audit_txns (client_id text, lsn bytea, xid xid8,
    at timestamptz DEFAULT clock_timestamp());
  CREATE TABLE public.fault_audit_rows (id text, w text, op text, xid xid8);
  CREATE FUNCTION public.fault_audit_txn() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO public.fault_audit_txns (client_id, lsn, xid)
        VALUES (NEW.client_id, NEW.lsn, pg_current_xact_id());
      RETURN NULL;
    END $$;
  CREATE TRIGGER fault_audit AFTER INSERT OR UPDATE ON electric.acknowledged_client_lsns
    FOR EACH ROW EXECUTE FUNCTION public.fault_audit_txn();
  ALTER TABLE electric.acknowledged_client_lsns ENABLE ALWAYS TRIGGER fault_audit;
  CREATE FUNCTION public.fault_audit_row() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'DELETE' THEN
        INSERT INTO public.fault_audit_rows VALUES (OLD.id, NULL, TG_OP, pg_current_xact_id());
      ELSE
        INSERT INTO public.fault_audit_rows VALUES (NEW.id, NEW.w, TG_OP, pg_current_xact_id());
      END IF;
      RETURN NULL;
    END $$;
  CREATE TRIGGER fault_audit AFTER INSERT OR UPDATE OR DELETE ON public.fault_rows
    FOR EACH ROW EXECUTE FUNCTION public.fault_audit_row();
  ALTER TABLE public.fault_rows ENABLE ALWAYS TRIGGER fault_audit;`;

/** A seeded generator (a Weyl sequence through a 32-bit mixer): same seed, same choices. */
export function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x9e3779b9) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return ((z ^ (z >>> 16)) >>> 0) / 2 ** 32;
  };
}

/**
 * What one client writes: its own rows (`c<index>-<k>`, written by it alone, so each of its
 * writes wins and it knows their tags) and the shared rows (values and tags from its replica).
 * Column `w` names the operation that wrote the row: `<index>:<transaction>:<op>`.
 */
export class Writer {
  readonly own = new Map<string, { row: Row; tag: string }>();
  #rows = 0;

  constructor(
    readonly index: number,
    readonly client: ResumingClient,
    readonly random: () => number,
  ) {}

  writeNext(): void {
    const n = this.client.sent.length + 1;
    const ops: ClientOp[] = [];
    const touched = new Set<string>();
    const count = 1 + Math.floor(this.random() * 3);
    for (let j = 0; j < count; j++) {
      const w = `${this.index}:${n}:${ops.length}`;
      const roll = this.random();
      const mine = [...this.own.keys()].filter((id) => !touched.has(id));
      const pick = mine[Math.floor(this.random() * mine.length)];
      if (roll < 0.3 || (roll < 0.7 && pick === undefined)) {
        const id = `c${this.index}-${this.#rows++}`;
        ops.push({ kind: "insert", row: { id, owner: String(this.index), n: "0", w }, tags: [] });
        touched.add(id);
      } else if (roll < 0.6) {
        const { row, tag } = this.own.get(pick)!;
        ops.push({
          kind: "update",
          row: { ...row, n: String(Number(row.n) + 1), w },
          old: row,
          tags: [tag],
        });
        touched.add(pick);
      } else if (roll < 0.7) {
        const { row, tag } = this.own.get(pick)!;
        ops.push({ kind: "delete", old: row, tags: [tag] });
        touched.add(pick);
      } else {
        const id = `shared-${Math.floor(this.random() * SHARED_ROWS)}`;
        if (touched.has(id)) continue;
        const seen = this.client.rows.get(id) ??
          { row: { id, owner: "-1", n: "0", w: "seed" }, tags: [] };
        const row = { ...seen.row, n: String(Math.floor(this.random() * 1000)), w };
        ops.push({ kind: "update", row, old: seen.row, tags: seen.tags });
        touched.add(id);
      }
    }
    const tx = this.client.write(ops);
    const tag = `${this.client.id}@${tx.timestamp}`;
    for (const op of ops) {
      if (op.kind === "delete") this.own.delete(op.old.id!);
      else if (op.row.id!.startsWith("c")) this.own.set(op.row.id!, { row: op.row, tag });
    }
  }
}

/** Writes a client may have unacknowledged before it pauses (its oplog keeps them meanwhile). */
export const MAX_IN_FLIGHT = 20;

/**
 * Starts `count` clients on TABLE, each with its writer: client `index` connects where
 * `connect(index)` says, its backoff draws from `seed + 1 + index` and its writes from
 * `seed + 1001 + index`.
 */
export function startWriters(
  count: number,
  options: {
    seed: number;
    connect: (index: number) => Pick<ResumingClientOptions, "host" | "port" | "endpoint">;
  },
): Writer[] {
  return Array.from({ length: count }, (_, index) => {
    const client = new ResumingClient({
      ...options.connect(index),
      table: TABLE,
      random: seeded(options.seed + 1 + index),
    });
    client.start();
    return new Writer(index, client, seeded(options.seed + 1001 + index));
  });
}

/**
 * Each writer writes its next transaction every 10 to 40 ms (fewer than MAX_IN_FLIGHT
 * unacknowledged) until `stop()`, which resolves once every loop ended.
 */
export function keepWriting(writers: Writer[]): { stop(): Promise<void> } {
  let writing = true;
  const loops = writers.map(async (writer) => {
    while (writing) {
      if (writer.client.inFlight < MAX_IN_FLIGHT) writer.writeNext();
      await new Promise((resolve) => setTimeout(resolve, 10 + writer.random() * 30));
    }
  });
  return {
    async stop() {
      writing = false;
      await Promise.all(loops);
    },
  };
}

/**
 * The end of a run: every client reconnects and re-sends whatever Postgres does not hold, until
 * Postgres holds every write. Then every replica equals the table, no client had an
 * acknowledged write taken back, the audit finds every write applied exactly once (`context`
 * after its message) and each client's own rows are as its last write left them. `state()`
 * describes the clients when a wait fails. Returns the audit and the table.
 */
export async function checkFinalState(
  sql: postgres.Sql,
  options: { writers: Writer[]; state: () => string; context?: string },
): Promise<{ audit: Awaited<ReturnType<typeof checkAudit>>; inPostgres: Map<string, Row> }> {
  const { writers, state } = options;
  const clients = writers.map((w) => w.client);
  for (const client of clients) client.reconnect();
  await waitFor(async () => {
    const rows = await sql<{ client_id: string; lsn: Uint8Array }[]>`
      SELECT client_id, lsn FROM electric.acknowledged_client_lsns`;
    const held = new Map(rows.map((r) => [r.client_id, toNumber(r.lsn)]));
    return clients.every((c) => held.get(c.id) === c.sent.length);
  }, {
    timeoutMs: 30_000,
    intervalMs: 100,
    what: () => `every write in Postgres:\n${state()}`,
  });

  const tableRows = async () =>
    new Map(
      (await sql<Row[]>`SELECT id, owner::text, n::text, w FROM fault_rows`).map((r) => [
        r.id!,
        { ...r },
      ]),
    );
  let inPostgres = await tableRows();
  const converged = await waitFor(async () => {
    inPostgres = await tableRows();
    return clients.every((c) => replicaDiff(c, inPostgres).length === 0);
  }, { timeoutMs: 30_000, intervalMs: 100 }).catch(() => false);
  if (!converged) {
    const diffs = clients.map((c, i) => ({ client: i, diff: replicaDiff(c, inPostgres) }))
      .filter((d) => d.diff.length > 0);
    assert.fail(`Replicas differ from Postgres:\n${JSON.stringify(diffs.slice(0, 3), null, 1)}`);
  }

  const problems = clients.flatMap((c, i) => c.problems.map((p) => `client ${i}: ${p}`));
  assert.deepEqual(problems, [], "no acknowledged write taken back, no protocol error");

  const audit = await checkAudit(sql, writers);
  assert.deepEqual(
    audit.errors.slice(0, 10),
    [],
    `every write applied exactly once${options.context ?? ""}`,
  );
  for (const writer of writers) {
    for (const [id, { row }] of writer.own) {
      assert.deepEqual(inPostgres.get(id), row, `own row ${id} as its last write left it`);
    }
  }
  return { audit, inPostgres };
}

export function toNumber(lsn: Uint8Array): number {
  return [...lsn].reduce((n, byte) => n * 256 + byte, 0);
}

/** Rows that differ between a client's replica and Postgres (at most 5). */
export function replicaDiff(client: ResumingClient, inPostgres: Map<string, Row>): string[] {
  const diff: string[] = [];
  for (const [id, row] of inPostgres) {
    const held = client.rows.get(id)?.row;
    const [a, b] = [JSON.stringify(held), JSON.stringify(row)];
    if (a !== b) diff.push(`${id}: replica ${a ?? "missing"}, Postgres ${b}`);
    if (diff.length >= 5) return diff;
  }
  for (const id of client.rows.keys()) {
    if (!inPostgres.has(id)) diff.push(`${id}: in the replica only`);
    if (diff.length >= 5) break;
  }
  return diff;
}

/**
 * Every transaction a client wrote is in the audit exactly once, and the row changes of its
 * Postgres transaction are its operations: one change per own row (of the operation's kind and,
 * for inserts and updates, with its `w`), at most one per shared row (a merge that changes
 * nothing may skip the row), nothing else.
 */
export async function checkAudit(sql: postgres.Sql, writers: Writer[]) {
  const txns = await sql<{ client_id: string; lsn: Uint8Array; xid: string; at: string }[]>`
    SELECT client_id, lsn, xid::text, to_char(at, 'HH24:MI:SS.MS') AS at FROM fault_audit_txns`;
  const changes = await sql<{ id: string; w: string | null; op: string; xid: string }[]>`
    SELECT id, w, op, xid::text FROM fault_audit_rows`;
  const byXid = new Map<string, (typeof changes)[number][]>();
  for (const change of changes) {
    byXid.set(change.xid, [...(byXid.get(change.xid) ?? []), change]);
  }
  const seen = new Map<string, string[]>();
  const when = new Map<string, string>();
  for (const t of txns) {
    const key = `${t.client_id}/${toNumber(t.lsn)}`;
    seen.set(key, [...(seen.get(key) ?? []), t.xid]);
    when.set(t.xid, t.at);
  }
  const errors: string[] = [];
  let doubled = 0;
  let lost = 0;
  const claimed = new Set<string>();
  for (const { index, client } of writers) {
    for (const tx of client.sent) {
      const xids = seen.get(`${client.id}/${tx.n}`) ?? [];
      if (xids.length !== 1) {
        if (xids.length === 0) lost++;
        else doubled++;
        errors.push(
          `client ${index} (${client.id}) write ${tx.n} applied ${xids.length} times` +
            (xids.length ? ` (at ${xids.map((x) => when.get(x)).join(", ")})` : ""),
        );
        continue;
      }
      claimed.add(xids[0]);
      const applied = byXid.get(xids[0]) ?? [];
      const expected = tx.ops.map((op) => op.kind === "delete" ? op.old.id! : op.row.id!);
      for (const change of applied) {
        if (!expected.includes(change.id)) {
          errors.push(`client ${index} write ${tx.n} changed ${change.id}, not one of its rows`);
        }
      }
      tx.ops.forEach((op, j) => {
        const id = expected[j];
        const mine = applied.filter((c) => c.id === id);
        if (id.startsWith("shared-")) {
          if (mine.length > 1) errors.push(`client ${index} write ${tx.n}: ${id} changed twice`);
          return;
        }
        const want = op.kind === "delete"
          ? { op: "DELETE", w: null }
          : { op: op.kind.toUpperCase(), w: `${index}:${tx.n}:${j}` };
        const got = mine.map((c) => ({ op: c.op, w: c.w }));
        if (JSON.stringify(got) !== JSON.stringify([want])) {
          errors.push(
            `client ${index} write ${tx.n}: ${id} changed as ${JSON.stringify(got)}, expected ${
              JSON.stringify(want)
            }`,
          );
        }
      });
    }
  }
  for (const xid of byXid.keys()) {
    if (!claimed.has(xid)) errors.push(`row changes in transaction ${xid} of no client write`);
  }
  return { errors, doubled, lost, transactions: txns.length, rowChanges: changes.length };
}
