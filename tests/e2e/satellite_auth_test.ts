/**
 * Satellite authentication in secure mode against the running service: a signed token is
 * accepted, a wrongly signed one refused, and a connection whose token expires is closed with
 * the `JWT-expired` reason the client understands; a client id belongs to the user that first
 * used it. Also: a client that stops acknowledging does not hold up another client.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import { SignJWT } from "jose";
import type postgres from "postgres";
import { SatAuthReqSchema, SatErrorResp_ErrorCode, SatOpLogAckSchema } from "../../src/gen/mod.ts";
import {
  type ServiceOnFreshDatabase,
  startServiceOnFreshDatabase,
} from "../helpers/electrified_service.ts";
import { connectClient, type TestClient } from "../helpers/satellite_client.ts";
import { authenticate, startReplication, subscribeTable } from "../helpers/satellite_rpc.ts";
import type { ServiceProcess } from "../helpers/service_process.ts";

const KEY = "a-test-signing-key-that-is-at-least-32-bytes-long";
let db: ServiceOnFreshDatabase["db"];
let sql: postgres.Sql;
let port: number;
let service: ServiceProcess;
const clients: TestClient[] = [];

before(async () => {
  ({ db, sql, service, port } = await startServiceOnFreshDatabase(
    `CREATE TABLE items (id text PRIMARY KEY, value text)`,
    { AUTH_MODE: "secure", AUTH_JWT_ALG: "HS256", AUTH_JWT_KEY: KEY },
  ));
  await sql`CALL electric.electrify('items')`;
});

after(async () => {
  for (const client of clients) client.close();
  service.kill();
  await sql.end();
  await db.drop();
});

async function token(key: string, expiresInSeconds: number, sub = "user-1") {
  const now = Math.floor(Date.now() / 1000);
  return await new SignJWT({ sub })
    .setProtectedHeader({ alg: "HS256" })
    .setIssuedAt(now)
    .setExpirationTime(now + expiresInSeconds)
    .sign(new TextEncoder().encode(key));
}

async function connect() {
  const client = await connectClient(`ws://127.0.0.1:${port}/ws`);
  clients.push(client);
  return client;
}

test("a correctly signed token is accepted, another key is refused", async () => {
  const good = await connect();
  await authenticate(good, await token(KEY, 60));
  const bad = await connect();
  const refused = await bad.rpc("authenticate", SatAuthReqSchema, {
    id: crypto.randomUUID(),
    token: await token("another-signing-key-that-is-also-32-bytes-or-more", 60),
  });
  assert.equal(
    refused.result.case === "error" && refused.result.value.errorType,
    SatErrorResp_ErrorCode.AUTH_REQUIRED,
  );
  await bad.closed;
  assert.match(service.output(), /Client authentication failed: Invalid token signature/);
});

test("a client id belongs to the user that first used it; another user is refused", async () => {
  const id = crypto.randomUUID();
  const owner = await connect();
  await authenticate(owner, await token(KEY, 60), id);
  const intruder = await connect();
  const refused = await intruder.rpc("authenticate", SatAuthReqSchema, {
    id,
    token: await token(KEY, 60, "user-2"),
  });
  assert.equal(
    refused.result.case === "error" && refused.result.value.errorType,
    SatErrorResp_ErrorCode.AUTH_FAILED,
  );
  assert.equal((await intruder.closed).code, 4007);
  // The owner's connection was not touched, and the owner can come back with the id.
  assert.equal(owner.isClosed(), false);
  const [{ owner: stored }] = await sql`
    SELECT user_id AS owner FROM electric.client_owners WHERE client_id = ${id}`;
  assert.equal(stored, "user-1");
  owner.close();
  await owner.closed;
  const again = await connect();
  await authenticate(again, await token(KEY, 60), id);
});

test("a connection is closed with JWT-expired when its token expires", async () => {
  const client = await connect();
  await authenticate(client, await token(KEY, 2));
  const closed = await client.closed;
  assert.equal(closed.reason, "JWT-expired");
});

test("a client that stops acknowledging does not hold up others", async () => {
  const subscribe = async (client: TestClient) => {
    await authenticate(client, await token(KEY, 600));
    await startReplication(client);
    await subscribeTable(client, "items");
    await client.next("SatSubsDataEnd");
  };
  const silent = await connect();
  const active = await connect();
  await subscribe(silent);
  await subscribe(active);
  // 40 transactions: more than the window of 30 the silent client may hold unacknowledged.
  for (let i = 0; i < 40; i++) await sql`INSERT INTO items VALUES (${`row-${i}`}, 'x')`;
  let received = 0;
  while (received < 40) {
    const log = await active.next("SatOpLog", {
      where: (f) => f.message.ops.some((op) => op.op.case === "insert"),
    });
    received++;
    const begin = log.message.ops[0].op;
    if (begin.case === "begin") {
      active.send(
        create(SatOpLogAckSchema, {
          lsn: begin.value.lsn,
          transactionId: begin.value.transactionId!,
        }),
      );
    }
  }
  const silentInserts =
    silent.frames.filter((f) =>
      f.name === "SatOpLog" && f.message.ops.some((op) => op.op.case === "insert")
    ).length;
  assert.ok(silentInserts <= 31, `the silent client got at most its window (${silentInserts})`);
});
