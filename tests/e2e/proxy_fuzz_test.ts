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
import postgres from "postgres";
import { findFreePort } from "../../src/embedded/mod.ts";
import {
  type BackendMessage,
  encodeFrontend,
  encodeStartup,
  PROTOCOL_3_0,
} from "../../src/pgwire/mod.ts";
import {
  ANSWER_MS,
  concat,
  fuzzSettings,
  hex,
  RawPeer,
  runInputs,
  Tally,
} from "../helpers/fuzz.ts";
import { type FuzzService, startFuzzService } from "../helpers/fuzz_service.ts";
import {
  answerThenClose,
  assertClosedForCause,
  closeCause,
  describeAnswer,
  errorCodes,
  firstReadyForQuery,
  framing,
  isCancelRequest,
  leadingEncryptionRequests,
  md5Challenge,
  takeMessages,
} from "../helpers/pg_fuzz.ts";
import { isListening } from "../helpers/service_process.ts";
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

const { seed: SEED, inputs: INPUTS, lanes: LANES, debug: DEBUG } = fuzzSettings(20261205);

let target: FuzzService;
let proxyPort: number;

before(async () => {
  proxyPort = await findFreePort();
  target = await startFuzzService({
    setup: `CREATE TABLE items (id text PRIMARY KEY, value text)`,
    env: { PG_PROXY_PORT: String(proxyPort), PG_PROXY_PASSWORD: PASSWORD },
    electrify: ["items"],
  });
  await waitFor(() => isListening(proxyPort), { timeoutMs: 15_000, what: "the proxy port" });
});

after(() => target?.stop());

const tally = new Tally(DEBUG);

/** A start-up input on a new connection: answered if complete, and closed after our end. */
async function runStartup(input: StartupInput): Promise<void> {
  const peer = await RawPeer.connect(proxyPort);
  try {
    const messages = await answerThenClose(peer, input.bytes, {
      answered: input.answered,
      declines: leadingEncryptionRequests(input.bytes),
    });
    tally.note(`start-up: ${describeAnswer(messages)}`, {
      input: input.bytes,
      unusual: messages.length === 0 && input.answered && !isCancelRequest(input.bytes),
    });
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
    const answer = input.answer(await md5Challenge(peer));
    const complete = answer.length > 0 && framing(answer, MAX_MESSAGE).end !== "incomplete";
    const messages = await answerThenClose(peer, answer, { answered: complete });
    tally.note(`authentication: ${describeAnswer(messages)}`, {
      input: answer,
      unusual: messages.length === 0,
    });
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
    await firstReadyForQuery(peer, "a logged-in session");
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
      tally.note(
        `session: cut short and closed${errors.length > 0 ? ` after E${errors[0]}` : ""}`,
        { input: bytes, unusual: false },
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
      const cause = closeCause(errors, terminates);
      tally.note(`session: closed after ${cause}`, { input: bytes, unusual: cause === "nothing" });
      assertClosedForCause(peer, { cause, input: bytes, messages });
      return;
    }
    assert.notEqual(end, "invalid", `an invalid message was not refused: ${hex(bytes)}`);
    tally.note(`session: probe answered${errors.length > 0 ? ` after E${errors[0]}` : ""}`, {
      input: bytes,
      unusual: false,
    });
  }

  close(): void {
    this.#peer?.destroy();
  }
}

/** What a failure is followed by: the test database's Postgres sessions and the service's output. */
async function postgresSessions(): Promise<string> {
  const activity = await target.sql`SELECT pid, state, wait_event_type, wait_event,
      application_name, left(query, 100) AS query, backend_xid, xact_start
    FROM pg_stat_activity WHERE datname = ${target.db.name} AND pid <> pg_backend_pid()`;
  return `\nPostgres sessions: ${JSON.stringify(activity, null, 1)}` + target.outputTail();
}

test(`${INPUTS} fuzzed proxy inputs (seed ${SEED}): the protocol's answer, never a crash`, {
  timeout: 120_000 + INPUTS * 20,
}, async () => {
  const lanes = Array.from({ length: LANES }, (_, lane) => new SessionLane(lane));
  try {
    await runInputs(INPUTS, async (index, lane) => {
      const input = proxyInput(SEED, index);
      if (input.phase === "startup") await runStartup(input);
      else if (input.phase === "auth") await runAuth(input);
      else await lanes[lane].run(input.bytes);
    }, { seed: SEED, lanes: LANES, context: postgresSessions });
  } finally {
    for (const lane of lanes) lane.close();
  }
  console.log(`proxy fuzz, seed ${SEED}, ${INPUTS} inputs: ${tally}`);
  assert.equal(tally.total, INPUTS);
  target.assertNoFailureLogged(/Unhandled failure|Proxy session failed/);

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
    const [electrified] = await target.sql`SELECT count(*)::int AS n FROM electric.electrified
                                    WHERE table_name = 'fuzz_healthy'`;
    assert.equal(electrified.n, 1);
  } finally {
    await client.end({ timeout: 1 });
  }
  await target.assertStatusOk();
});
