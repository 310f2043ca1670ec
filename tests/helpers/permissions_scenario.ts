/**
 * A running service over projects ← issues ← comments for the permission tests over chains of
 * foreign keys: members of a project (memberships.user_id) read and write the comments of its
 * issues (`USING issue_id/project_id`) and its issues. Raw Satellite sessions that subscribe,
 * collect row ops, and send client transactions; `openSession` opens one on any service.
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import { create, toBinary } from "@bufbuild/protobuf";
import {
  SatErrorResp_ErrorCode,
  SatInStartReplicationRespSchema,
  type SatOpLog,
  SatOpLogSchema,
  SatRelationSchema,
  SatRpcResponseSchema,
} from "../../src/gen/mod.ts";
import { nullsBitmask } from "../../src/satellite/serialization/mod.ts";
import { startElectrifiedService } from "./electrified_service.ts";
import { freshDatabase } from "./pg_cluster.ts";
import { connectClient, insecureToken, type TestClient } from "./satellite_client.ts";
import { authenticate, startReplication, subscribeTable } from "./satellite_rpc.ts";
import type { ServiceProcess } from "./service_process.ts";
import { waitFor } from "./wait.ts";

export const TABLES: Record<string, string[]> = {
  issues: ["id", "project_id", "title"],
  comments: ["id", "issue_id", "body"],
};

export interface Session {
  client: TestClient;
  /** `kind table:id` of every row op received so far. */
  rows(): string[];
  until(row: string, what: string): Promise<void>;
  /** Subscribes to a whole table and waits for its initial data. */
  subscribe(tablename: string): Promise<void>;
  /** Sends one transaction on TABLES (opening the upload direction first if needed). */
  send(ops: ClientOp[]): Promise<void>;
}

export type ClientOp =
  | { kind: "insert"; table: string; row: string[] }
  | { kind: "update"; table: string; row: string[]; old: string[] }
  | { kind: "delete"; table: string; old: string[] };

export interface Scenario {
  sql: postgres.Sql;
  service: ServiceProcess;
  session(user: string): Promise<Session>;
  close(): Promise<void>;
}

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/** The tables of the scenario: projects ← memberships, projects ← issues ← comments. */
export const SCHEMA = {
  tables: ["projects", "memberships", "issues", "comments"],
  ddl: `
    CREATE TABLE projects (id text PRIMARY KEY, name text);
    CREATE TABLE memberships (id text PRIMARY KEY, project_id text REFERENCES projects (id),
      user_id text);
    CREATE TABLE issues (id text PRIMARY KEY, project_id text REFERENCES projects (id),
      title text);
    CREATE TABLE comments (id text PRIMARY KEY, issue_id text REFERENCES issues (id),
      body text);`,
};

export async function startScenario(env: Record<string, string> = {}): Promise<Scenario> {
  const db = await freshDatabase();
  const sql = postgres(db.url, { onnotice: () => {}, max: 2 });
  await sql.unsafe(SCHEMA.ddl);
  const release = async () => {
    await sql.end();
    await db.drop();
  };
  const { service, port } = await startElectrifiedService(sql, {
    url: db.url,
    tables: SCHEMA.tables,
    env,
  }).catch(async (error) => {
    await release();
    throw error;
  });
  const clients: TestClient[] = [];
  try {
    // As `ELECTRIC GRANT ALL ON comments TO (projects, 'member') USING issue_id/project_id`,
    // `ELECTRIC GRANT ALL ON issues TO (projects, 'member')` and `ELECTRIC ASSIGN (projects,
    // 'member') TO memberships.user_id` store them.
    await sql.unsafe(`
      CALL electric.grant('select', '"public"."comments"', 'member', ARRAY['*'],
        '"public"."projects"', 'issue_id/project_id', null);
      CALL electric.grant('insert', '"public"."comments"', 'member', ARRAY['*'],
        '"public"."projects"', 'issue_id/project_id', null);
      CALL electric.grant('update', '"public"."comments"', 'member', ARRAY['*'],
        '"public"."projects"', 'issue_id.project_id', null);
      CALL electric.grant('delete', '"public"."comments"', 'member', ARRAY['*'],
        '"public"."projects"', 'issue_id/project_id', null);
      CALL electric.grant('select', '"public"."issues"', 'member', ARRAY['*'],
        '"public"."projects"', null, null);
      CALL electric.grant('update', '"public"."issues"', 'member', ARRAY['*'],
        '"public"."projects"', null, null);
      CALL electric.grant('delete', '"public"."issues"', 'member', ARRAY['*'],
        '"public"."projects"', null, null);
      CALL electric.assign('"public"."memberships"', '"public"."projects"', 'user_id',
        'member', null, null);
      INSERT INTO projects VALUES ('p1', 'one'), ('p2', 'two');
      INSERT INTO memberships VALUES ('m1', 'p1', 'alice'), ('m2', 'p2', 'bob');
      INSERT INTO issues VALUES ('i1', 'p1', 'a'), ('i2', 'p2', 'b'), ('i3', 'p2', 'c');
      INSERT INTO comments VALUES ('c1', 'i1', 'x'), ('c2', 'i2', 'y'), ('c3', 'i3', 'z');`);
  } catch (error) {
    service.kill();
    await release();
    throw new Error(`${(error as Error).message}\nService output:\n${service.output()}`);
  }

  const session = async (user: string): Promise<Session> => {
    const s = await openSession({ port, service }, user);
    clients.push(s.client);
    return s;
  };

  return {
    sql,
    service,
    session,
    async close() {
      for (const client of clients) client.close();
      service.kill();
      await release();
    },
  };
}

/**
 * Opens a new session of `user`, sends `ops` as one transaction and expects it refused with
 * `permission denied`, the server closing the session (`what` names the write on failure).
 */
export async function expectRefused(
  scenario: Scenario,
  user: string,
  write: { ops: ClientOp[]; what: string },
): Promise<void> {
  const s = await scenario.session(user);
  await s.send(write.ops);
  const error = await s.client.next("SatErrorResp", { timeoutMs: 20_000 });
  assert.equal(error.message.errorType, SatErrorResp_ErrorCode.INVALID_REQUEST, write.what);
  assert.match(error.message.message ?? "", /permission denied/, write.what);
  await s.client.closed;
}

/**
 * A raw Satellite session of `user` on the service at `port`: authenticated and with the
 * server's stream started (its client closed again if either fails). The caller closes its
 * client.
 */
export async function openSession(
  target: { port: number; service: ServiceProcess },
  user: string,
): Promise<Session> {
  const { port, service } = target;
  const client = await connectClient(`ws://127.0.0.1:${port}/ws`);
  try {
    await authenticate(client, insecureToken({ sub: user }));
    const started = await startReplication(client);
    assert.equal(started.err, undefined, JSON.stringify(started.err));
  } catch (error) {
    client.close();
    throw error;
  }
  const names = new Map<number, string>();
  let writing = false;
  const s: Session = {
    client,
    rows() {
      const out: string[] = [];
      for (const frame of client.frames) {
        if (frame.name === "SatRelation") {
          names.set(frame.message.relationId, frame.message.tableName);
        }
        if (frame.name !== "SatOpLog") continue;
        out.push(...rowOps(frame.message.ops, names));
      }
      return out;
    },
    until: (row, what) =>
      waitFor(() => s.rows().includes(row), {
        timeoutMs: 20_000,
        what: () => `${what} (got ${s.rows().join(", ")})\nService output:\n${service.output()}`,
      }).then(() => {}),
    async subscribe(tablename) {
      await subscribeTable(client, tablename);
      await client.next("SatSubsDataEnd", { timeoutMs: 20_000 }).catch((error) => {
        throw new Error(`${error.message}\nService output:\n${service.output()}`);
      });
    },
    async send(ops) {
      if (!writing) {
        await openWrites(client);
        writing = true;
      }
      client.send(create(SatOpLogSchema, { ops: transactionOps(ops) }));
    },
  };
  return s;
}

/** Answers the server's startReplication and announces the tables the tests write. */
async function openWrites(client: TestClient): Promise<void> {
  const request = await client.next("SatRpcRequest", {
    where: (f) => f.message.method === "startReplication",
    timeoutMs: 20_000,
  });
  client.send(create(SatRpcResponseSchema, {
    method: "startReplication",
    requestId: request.message.requestId,
    result: {
      case: "message",
      value: toBinary(SatInStartReplicationRespSchema, create(SatInStartReplicationRespSchema)),
    },
  }));
  for (const [i, [table, columns]] of Object.entries(TABLES).entries()) {
    client.send(create(SatRelationSchema, {
      schemaName: "public",
      tableName: table,
      relationId: 100 + i,
      columns: columns.map((name) => ({ name, type: "TEXT", isNullable: true })),
    }));
  }
}

let lsn = 1;

function transactionOps(ops: ClientOp[]): SatOpLog["ops"] {
  const relationId = (table: string) => 100 + Object.keys(TABLES).indexOf(table);
  const row = (values: string[]) => ({
    nullsBitmask: nullsBitmask(values.map(() => false)),
    values: values.map((v) => encoder.encode(v)),
  });
  const begin = {
    case: "begin" as const,
    value: { commitTimestamp: BigInt(Date.now()), lsn: Uint8Array.of(lsn++) },
  };
  const body = ops.map((op) => {
    switch (op.kind) {
      case "insert":
        return {
          case: "insert" as const,
          value: { relationId: relationId(op.table), rowData: row(op.row) },
        };
      case "update":
        return {
          case: "update" as const,
          value: {
            relationId: relationId(op.table),
            rowData: row(op.row),
            oldRowData: row(op.old),
          },
        };
      case "delete":
        return {
          case: "delete" as const,
          value: { relationId: relationId(op.table), oldRowData: row(op.old) },
        };
    }
  });
  return [begin, ...body, { case: "commit" as const, value: {} }].map((op) =>
    ({ op }) as SatOpLog["ops"][number]
  );
}

function rowOps(ops: SatOpLog["ops"], names: Map<number, string>): string[] {
  const out: string[] = [];
  for (const { op } of ops) {
    const row = op.case === "insert" || op.case === "update"
      ? op.value.rowData
      : op.case === "delete"
      ? op.value.oldRowData
      : op.case === "gone"
      ? op.value.pkData
      : undefined;
    if (!row || !op.value || !("relationId" in op.value)) continue;
    const name = names.get(op.value.relationId) ?? String(op.value.relationId);
    out.push(`${op.case} ${name}:${decoder.decode(row.values[0])}`);
  }
  return out;
}
