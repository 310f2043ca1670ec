/**
 * Seeded fuzzing of the migrations proxy (PG_PROXY_PORT) inside the running service: 10,000
 * inputs of three kinds, spread over a few concurrent lanes.
 *
 * - start-up: random bytes, length-prefixed packets with random lengths, SSLRequest,
 *   GSSENCRequest and CancelRequest (also repeated, truncated or padded), StartupMessages with
 *   random protocol versions and parameters (right, wrong or no password), each on a new
 *   connection;
 * - authentication: a StartupMessage without password, then a random answer to the MD5
 *   challenge (right, wrong, garbled, another message);
 * - session: on a logged-in connection, random type bytes with random or garbled lengths,
 *   known messages with random bodies or random SQL, valid Query/Parse/Bind/Execute/Sync
 *   units with flipped bits, truncated units.
 *
 * Each input must be resolved within a deadline: a start-up or authentication input gets its
 * answer (`N`, an authentication request, or an ErrorResponse with a SQLSTATE and the close);
 * a session input is followed by a probe (Sync, ROLLBACK, a SELECT of a marker) that is
 * answered, unless the connection closes after an ErrorResponse (or a Terminate in the input).
 * An input that ends inside a message is followed by the end of the stream, and the proxy must
 * then close. The service must log no failed session and no unhandled failure, and postgres.js
 * must still work through the proxy at the end. FUZZ_SEED and FUZZ_INPUTS override the
 * defaults; FUZZ_DEBUG prints unusual outcomes.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import postgres from "postgres";
import { findFreePort } from "../../src/embedded/mod.ts";
import {
  type BackendMessage,
  encodeFrontend,
  encodeStartup,
  PROTOCOL_3_0,
} from "../../src/pgwire/mod.ts";
import { concat, fuzzSettings, hex, inLanes, RawPeer, Tally } from "../helpers/fuzz.ts";
import { freshDatabase } from "../helpers/pg_cluster.ts";
import {
  describeAnswer,
  errorCodes,
  framing,
  isCancelRequest,
  leadingEncryptionRequests,
  takeMessages,
} from "../helpers/pg_fuzz.ts";
import { serviceEnv } from "../helpers/service_config.ts";
import { isListening, type ServiceProcess, startService } from "../helpers/service_process.ts";
import { waitFor } from "../helpers/wait.ts";
import {
  type AuthInput,
  MAX_MESSAGE,
  PASSWORD,
  proxyInput,
  q,
  type StartupInput,
  sync,
} from "./proxy_fuzz_inputs.ts";

const { seed: SEED, inputs: INPUTS, debug: DEBUG } = fuzzSettings(20261205);
const LANES = Number(process.env.FUZZ_LANES ?? 8);
/** Longest wait for an answer (a hang past it fails the test). */
const ANSWER_MS = 15_000;

let db: Awaited<ReturnType<typeof freshDatabase>>;
let sql: postgres.Sql;
let httpPort: number;
let proxyPort: number;
let service: ServiceProcess;

before(async () => {
  db = await freshDatabase();
  sql = postgres(db.url, { onnotice: () => {}, max: 2 });
  await sql.unsafe(`CREATE TABLE items (id text PRIMARY KEY, value text)`);
  httpPort = await findFreePort();
  proxyPort = await findFreePort();
  service = startService(
    await serviceEnv(db.url, httpPort, {
      PG_PROXY_PORT: String(proxyPort),
      PG_PROXY_PASSWORD: PASSWORD,
      LOG_LEVEL: "warning",
    }),
  );
  await service.waitForStatus(httpPort, 200, 30_000);
  await waitFor(() => isListening(proxyPort), { timeoutMs: 15_000, what: "the proxy port" });
  await sql`CALL electric.electrify('items')`;
});

after(async () => {
  service.kill();
  await service.exited;
  await sql.end({ timeout: 1 });
  await db.drop();
});

const tally = new Tally();

function note(kind: string, input: Uint8Array | undefined, unusual: boolean): void {
  tally.add(kind);
  if (unusual && DEBUG) console.log(kind, input ? hex(input) : "");
}

/** A start-up input on a new connection: answered if complete, and closed after our end. */
async function runStartup(input: StartupInput): Promise<void> {
  const peer = await RawPeer.connect(proxyPort);
  try {
    const declines = leadingEncryptionRequests(input.bytes);
    peer.write(input.bytes);
    if (input.answered) {
      await peer.until(() => peer.received.length > 0 || peer.closed, ANSWER_MS, "answer");
    }
    peer.end();
    await peer.closes(ANSWER_MS);
    const messages = takeMessages(peer, declines);
    const kind = `start-up: ${describeAnswer(messages)}`;
    note(
      kind,
      input.bytes,
      messages.length === 0 && input.answered && !isCancelRequest(input.bytes),
    );
    if (input.answered && messages.length === 0) {
      assert.ok(isCancelRequest(input.bytes), `no answer to ${hex(input.bytes)}`);
    }
    assert.equal(peer.received.length, 0, `trailing bytes after ${hex(input.bytes)}`);
  } finally {
    peer.destroy();
  }
}

/** A StartupMessage without password, then the fuzzed answer to the MD5 challenge. */
async function runAuth(input: AuthInput): Promise<void> {
  const peer = await RawPeer.connect(proxyPort);
  try {
    peer.write(encodeStartup({
      type: "StartupMessage",
      protocolVersion: PROTOCOL_3_0,
      parameters: { user: input.user, database: "electric" },
    }));
    const [challenge] = await peer.until(
      () => {
        const messages = takeMessages(peer);
        return messages.length > 0 ? messages : undefined;
      },
      ANSWER_MS,
      "MD5 challenge",
    );
    assert.ok(challenge.type === "Authentication" && challenge.code === 5, "MD5 challenge");
    const answer = input.answer(challenge.data);
    peer.write(answer);
    const complete = answer.length > 0 && framing(answer, MAX_MESSAGE).end !== "incomplete";
    if (complete) {
      await peer.until(() => peer.received.length > 0 || peer.closed, ANSWER_MS, "answer");
    }
    peer.end();
    await peer.closes(ANSWER_MS);
    const messages = takeMessages(peer);
    const kind = `authentication: ${describeAnswer(messages)}`;
    note(kind, answer, messages.length === 0);
    if (complete) assert.ok(messages.length > 0, `no answer to ${hex(answer)}`);
  } finally {
    peer.destroy();
  }
}

/** A logged-in connection that runs session inputs until one closes it. */
class SessionLane {
  #peer: RawPeer | undefined;
  #probes = 0;
  readonly #lane: number;

  constructor(lane: number) {
    this.#lane = lane;
  }

  async #open(): Promise<RawPeer> {
    const peer = await RawPeer.connect(proxyPort);
    peer.write(encodeStartup({
      type: "StartupMessage",
      protocolVersion: PROTOCOL_3_0,
      parameters: { user: "postgres", database: "electric", password: PASSWORD },
    }));
    await peer.until(
      () => takeMessages(peer).some((m) => m.type === "ReadyForQuery") || peer.closed,
      ANSWER_MS,
      "the first ReadyForQuery",
    );
    assert.ok(!peer.closed, "a logged-in session");
    return peer;
  }

  async run(bytes: Uint8Array): Promise<void> {
    this.#peer ??= await this.#open();
    const peer = this.#peer;
    const { frames, end } = framing(bytes, MAX_MESSAGE);
    const terminates = frames.some((f) => f.tag === 0x58); // 'X' Terminate
    peer.write(bytes);
    const messages: BackendMessage[] = [];
    const read = () => messages.push(...takeMessages(peer));
    if (end === "incomplete") {
      peer.end();
      await peer.until(() => (read(), peer.closed), ANSWER_MS, "close after the end of input");
      read();
      this.#peer = undefined;
      const errors = errorCodes(messages);
      note(
        `session: cut short and closed${errors.length > 0 ? ` after E${errors[0]}` : ""}`,
        bytes,
        false,
      );
      return;
    }
    const marker = `probe:${this.#lane}:${++this.#probes}`;
    if (end === "complete") {
      peer.write(concat(...[sync, q("ROLLBACK"), q(`SELECT '${marker}'`)].map(encodeFrontend)));
    }
    let answered = -1;
    await peer.until(
      () => {
        read();
        if (answered < 0) {
          answered = messages.findIndex((m) =>
            m.type === "DataRow" && m.values.length === 1 &&
            new TextDecoder().decode(m.values[0] ?? new Uint8Array()) === marker
          );
        }
        const ready = answered >= 0 &&
          messages.slice(answered).some((m) => m.type === "ReadyForQuery");
        return ready || peer.closed;
      },
      ANSWER_MS,
      `answer to the probe after ${hex(bytes)}`,
    );
    read();
    const errors = errorCodes(messages);
    if (peer.closed) {
      this.#peer = undefined;
      peer.destroy();
      const why = errors.length > 0 ? `E${errors.at(-1)}` : terminates ? "Terminate" : "nothing";
      const kind = `session: closed after ${why}`;
      note(kind, bytes, errors.length === 0 && !terminates);
      assert.ok(
        errors.length > 0 || terminates,
        `closed without an error after ${hex(bytes)} (${peer.reset ? "reset" : "ended"}; received ${
          messages.map((m) => m.type).join(", ") || "nothing"
        }; then ${hex(peer.received) || "no bytes"})`,
      );
      return;
    }
    assert.notEqual(end, "invalid", `an invalid message was not refused: ${hex(bytes)}`);
    note(`session: probe answered${errors.length > 0 ? ` after E${errors[0]}` : ""}`, bytes, false);
  }

  close(): void {
    this.#peer?.destroy();
  }
}

test(`${INPUTS} fuzzed proxy inputs (seed ${SEED}): the protocol's answer, never a crash`, {
  timeout: 120_000 + INPUTS * 20,
}, async () => {
  const lanes = Array.from({ length: LANES }, (_, lane) => new SessionLane(lane));
  try {
    await inLanes(INPUTS, LANES, async (index, lane) => {
      const input = proxyInput(SEED, index);
      try {
        if (input.phase === "startup") await runStartup(input);
        else if (input.phase === "auth") await runAuth(input);
        else await lanes[lane].run(input.bytes);
      } catch (error) {
        const activity = await sql`SELECT pid, state, wait_event_type, wait_event,
            application_name, left(query, 100) AS query, backend_xid, xact_start
          FROM pg_stat_activity WHERE datname = ${db.name} AND pid <> pg_backend_pid()`;
        (error as Error).message = `input ${index} (seed ${SEED}): ${(error as Error).message}` +
          `\nPostgres sessions: ${JSON.stringify(activity, null, 1)}` +
          `\nService output (end): ${service.output().slice(-3000)}`;
        throw error;
      }
    });
  } finally {
    for (const lane of lanes) lane.close();
  }
  console.log(`proxy fuzz, seed ${SEED}, ${INPUTS} inputs: ${tally}`);
  assert.equal(tally.total, INPUTS);
  assert.doesNotMatch(service.output(), /Unhandled failure|Proxy session failed/);

  // A healthy client still works: simple and extended queries, and an electrification.
  const client = postgres(
    `postgresql://postgres:${PASSWORD}@127.0.0.1:${proxyPort}/electric?sslmode=disable`,
    { max: 1, onnotice: () => {}, connect_timeout: 10 },
  );
  try {
    const [row] = await client`SELECT ${"ok"}::text AS answer`;
    assert.equal(row.answer, "ok");
    await client.unsafe(`CREATE TABLE fuzz_healthy (id text PRIMARY KEY)`);
    await client.unsafe(`ALTER TABLE fuzz_healthy ENABLE ELECTRIC`);
    const [electrified] = await sql`SELECT count(*)::int AS n FROM electric.electrified
                                    WHERE table_name = 'fuzz_healthy'`;
    assert.equal(electrified.n, 1);
  } finally {
    await client.end({ timeout: 1 });
  }
  const res = await fetch(`http://127.0.0.1:${httpPort}/api/status`);
  assert.equal(res.status, 200);
  await res.body?.cancel();
});
