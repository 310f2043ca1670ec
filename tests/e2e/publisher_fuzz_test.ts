/**
 * Seeded fuzzing of the logical publisher (LOGICAL_PUBLISHER_PORT) inside the running service
 * in `logical_replication` mode, while Postgres's subscription streams from it: 10,000 inputs
 * in three phases (publisher_fuzz_inputs.ts), each phase run after the one before.
 *
 * - Before authentication (lanes of new connections): start-up packets, or the subscriber's
 *   StartupMessage and a wrong answer to the MD5 challenge. Each is answered (`N`, the
 *   challenge, or an ErrorResponse with a SQLSTATE and the close), or closed once the client
 *   ends its side when it stops inside a packet. None of this may disturb the subscription:
 *   its apply worker keeps its connection, and a client write still reaches Postgres.
 * - Logged in with the subscription's secret (lanes of sessions): random messages, then a
 *   probe (IDENTIFY_SYSTEM) that is answered, unless the connection closes after an
 *   ErrorResponse (or a Terminate in the input).
 * - Streaming (one session at a time, each starting replication and so taking the stream):
 *   random CopyData and status updates, then a CopyDone that is answered by the end of
 *   copy and a ReadyForQuery, unless the connection closes after an ErrorResponse.
 *
 * The subscription is disabled during the last two phases (a fuzzing session may take the
 * stream, and the subscription taking it back would race with the inputs); enabled again at
 * the end, it streams and client writes reach Postgres. The service logs no unhandled failure. FUZZ_SEED and FUZZ_INPUTS override the defaults; FUZZ_DEBUG
 * prints unusual outcomes.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import postgres from "postgres";
import { CREATE_TABLE, WritingClient } from "../../scripts/bench/client_writes/writing_clients.ts";
import { findFreePort } from "../../src/embedded/mod.ts";
import {
  type BackendMessage,
  encodeFrontend,
  encodeStartup,
  md5PasswordResponse,
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
  startupFraming,
  takeMessages,
} from "../helpers/pg_fuzz.ts";
import { serviceEnv } from "../helpers/service_config.ts";
import { type ServiceProcess, startService } from "../helpers/service_process.ts";
import { waitFor } from "../helpers/wait.ts";
import {
  MAX_MESSAGE,
  type PublisherInput,
  publisherInput,
  startReplication,
  SUBSCRIBER,
} from "./publisher_fuzz_inputs.ts";

const { seed: SEED, inputs: INPUTS, debug: DEBUG } = fuzzSettings(20261207);
const LANES = Number(process.env.FUZZ_LANES ?? 8);
/** Longest wait for an answer (a hang past it fails the test). */
const ANSWER_MS = 15_000;

let db: Awaited<ReturnType<typeof freshDatabase>>;
let sql: postgres.Sql;
let httpPort: number;
let publisherPort: number;
let service: ServiceProcess;
/** The password in the subscription's connection string, which the publisher asks for. */
let secret: string;
let writer: WritingClient | undefined;

before(async () => {
  db = await freshDatabase();
  sql = postgres(db.url, { onnotice: () => {}, max: 2 });
  await sql.unsafe(CREATE_TABLE);
  httpPort = await findFreePort();
  publisherPort = await findFreePort();
  service = startService(
    await serviceEnv(db.url, httpPort, {
      ELECTRIC_WRITE_TO_PG_MODE: "logical_replication",
      LOGICAL_PUBLISHER_HOST: "127.0.0.1",
      LOGICAL_PUBLISHER_PORT: String(publisherPort),
      LOG_LEVEL: "warning",
    }),
  );
  await service.waitForStatus(httpPort, 200, 30_000);
  await sql`CALL electric.electrify('client_writes')`;
  await waitFor(async () => {
    const res = await fetch(`http://127.0.0.1:${httpPort}/api/migrations?dialect=sqlite`);
    await res.body?.cancel();
    return res.status === 200;
  }, { timeoutMs: 30_000, what: "the migration of client_writes" });
  const [row] = await sql<{ conninfo: string }[]>`
    SELECT subconninfo AS conninfo FROM pg_subscription WHERE subname = 'postgres_1'`;
  secret = /(?:^|\s)password=(\S+)/.exec(row.conninfo)![1];
  writer = await WritingClient.connect("127.0.0.1", httpPort, 0);
  await writeReachesPostgres();
});

after(async () => {
  writer?.close();
  service.kill();
  await service.exited;
  await sql.end({ timeout: 1 });
  await db.drop();
});

/** The pid of the subscription's apply worker, once it runs. */
async function applyWorker(): Promise<number | undefined> {
  const rows = await sql<{ pid: number | null }[]>`
    SELECT pid FROM pg_stat_subscription WHERE subname = 'postgres_1' AND relid IS NULL`;
  return rows[0]?.pid ?? undefined;
}

/** A client write goes through the publisher and the subscription into Postgres. */
async function writeReachesPostgres(timeoutMs = 30_000): Promise<void> {
  writer!.write();
  const id = `0-${writer!.sequence}`;
  await waitFor(async () => (await sql`SELECT 1 FROM client_writes WHERE id = ${id}`).length > 0, {
    timeoutMs,
    what: () => `client write ${id} in Postgres\n${service.output().slice(-3000)}`,
  });
}

const tally = new Tally();

function note(kind: string, input: Uint8Array, unusual: boolean): void {
  tally.add(kind);
  if (unusual && DEBUG) console.log(kind, hex(input));
}

/** Logs in as the subscription does, with the secret. */
async function logIn(): Promise<RawPeer> {
  const peer = await RawPeer.connect(publisherPort);
  peer.write(encodeStartup({
    type: "StartupMessage",
    protocolVersion: PROTOCOL_3_0,
    parameters: SUBSCRIBER,
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
  const response = md5PasswordResponse(SUBSCRIBER.user, secret, challenge.data);
  peer.write(encodeFrontend({
    type: "PasswordMessage",
    data: concat(new TextEncoder().encode(response), Uint8Array.of(0)),
  }));
  await peer.until(
    () => takeMessages(peer).some((m) => m.type === "ReadyForQuery") || peer.closed,
    ANSWER_MS,
    "the first ReadyForQuery",
  );
  assert.ok(!peer.closed, "logged in");
  return peer;
}

/** Bytes before authentication, on a new connection. */
async function runStartup(bytes: Uint8Array): Promise<void> {
  const peer = await RawPeer.connect(publisherPort);
  try {
    const answered = startupFraming(bytes) !== "incomplete";
    peer.write(bytes);
    if (answered) {
      await peer.until(() => peer.received.length > 0 || peer.closed, ANSWER_MS, "answer");
    }
    peer.end();
    await peer.closes(ANSWER_MS);
    const messages = takeMessages(peer, leadingEncryptionRequests(bytes));
    const silent = messages.length === 0 && answered && !isCancelRequest(bytes);
    note(`before authentication: ${describeAnswer(messages)}`, bytes, silent);
    assert.ok(!silent, `no answer to ${hex(bytes)}`);
    assert.ok(
      !messages.some((m) => m.type === "Authentication" && m.code === 0),
      `logged in without the secret: ${hex(bytes)}`,
    );
  } finally {
    peer.destroy();
  }
}

/** The subscriber's StartupMessage, then a wrong answer to the challenge. */
async function runPassword(answer: (salt: Uint8Array) => Uint8Array): Promise<void> {
  const peer = await RawPeer.connect(publisherPort);
  try {
    peer.write(encodeStartup({
      type: "StartupMessage",
      protocolVersion: PROTOCOL_3_0,
      parameters: SUBSCRIBER,
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
    const bytes = answer(challenge.data);
    peer.write(bytes);
    const complete = bytes.length > 0 && framing(bytes, MAX_MESSAGE).end !== "incomplete";
    if (complete) {
      await peer.until(() => peer.received.length > 0 || peer.closed, ANSWER_MS, "answer");
    }
    peer.end();
    await peer.closes(ANSWER_MS);
    const messages = takeMessages(peer);
    note(`wrong password: ${describeAnswer(messages)}`, bytes, complete && messages.length === 0);
    if (complete) assert.ok(messages.length > 0, `no answer to ${hex(bytes)}`);
    assert.ok(
      !messages.some((m) => m.type !== "ErrorResponse"),
      `more than an error after ${hex(bytes)}: ${messages.map((m) => m.type)}`,
    );
  } finally {
    peer.destroy();
  }
}

/**
 * A session that runs inputs until one closes it. Logged in, each Query is answered up to one
 * ReadyForQuery; streaming, a CopyDone is.
 */
class Session {
  #peer: RawPeer | undefined;
  /** ReadyForQuery messages received, and owed, on this connection. */
  #ready = 0;
  #owed = 0;
  readonly #streaming: boolean;

  constructor(streaming: boolean) {
    this.#streaming = streaming;
  }

  async #open(): Promise<RawPeer> {
    const peer = await logIn();
    this.#ready = 0;
    this.#owed = 0;
    if (this.#streaming) {
      peer.write(encodeFrontend({ type: "Query", sql: startReplication() }));
      await peer.until(
        () => takeMessages(peer).some((m) => m.type === "CopyBothResponse") || peer.closed,
        ANSWER_MS,
        "CopyBothResponse",
      );
      assert.ok(!peer.closed, "streaming");
    }
    return peer;
  }

  async run(bytes: Uint8Array): Promise<void> {
    this.#peer ??= await this.#open();
    const peer = this.#peer;
    const phase = this.#streaming ? "streaming" : "logged in";
    const { frames, end } = framing(bytes, MAX_MESSAGE);
    const terminates = frames.some((f) => f.tag === 0x58); // 'X' Terminate
    const messages: BackendMessage[] = [];
    const read = () => {
      const taken = takeMessages(peer);
      this.#ready += taken.filter((m) => m.type === "ReadyForQuery").length;
      messages.push(...taken);
    };
    peer.write(bytes);
    if (end === "incomplete") {
      peer.end();
      await peer.until(() => (read(), peer.closed), ANSWER_MS, "close after the end of input");
      read();
      this.#peer = undefined;
      note(`${phase}: cut short and closed`, bytes, false);
      return;
    }
    if (end === "complete") {
      // What owes a ReadyForQuery: logged in, each Query; streaming, a CopyDone; and the probe.
      const owing = this.#streaming ? 0x63 : 0x51; // 'c' CopyDone, 'Q' Query
      this.#owed += frames.filter((f) => f.tag === owing).length + 1;
      peer.write(
        this.#streaming
          ? encodeFrontend({ type: "CopyDone" })
          : encodeFrontend({ type: "Query", sql: "IDENTIFY_SYSTEM" }),
      );
    }
    // An invalid length is refused with the close: no probe then.
    const answered = () => end === "complete" && this.#ready >= this.#owed;
    await peer.until(
      () => (read(), answered() || peer.closed),
      ANSWER_MS,
      `answer to the probe after ${hex(bytes)}`,
    );
    read();
    const errors = errorCodes(messages);
    if (peer.closed) {
      this.#peer = undefined;
      peer.destroy();
      const why = errors.length > 0 ? `E${errors.at(-1)}` : terminates ? "Terminate" : "nothing";
      note(`${phase}: closed after ${why}`, bytes, why === "nothing");
      assert.ok(
        errors.length > 0 || terminates,
        `closed without an error after ${hex(bytes)} (${peer.reset ? "reset" : "ended"}; received ${
          messages.map((m) => m.type).join(", ") || "nothing"
        }; then ${hex(peer.received) || "no bytes"})`,
      );
      return;
    }
    assert.notEqual(end, "invalid", `an invalid message was not refused: ${hex(bytes)}`);
    note(
      `${phase}: probe answered${errors.length > 0 ? ` after E${errors[0]}` : ""}`,
      bytes,
      false,
    );
    if (this.#streaming) {
      // The CopyDone ended streaming: start again for the next input.
      peer.destroy();
      this.#peer = undefined;
    }
  }

  close(): void {
    this.#peer?.destroy();
  }
}

function indexesOf(phases: PublisherInput["phase"][]): number[] {
  const out: number[] = [];
  for (let index = 0; index < INPUTS; index++) {
    if (phases.includes(publisherInput(SEED, index).phase)) out.push(index);
  }
  return out;
}

async function runAll(
  indexes: number[],
  lanes: number,
  run: (input: PublisherInput, lane: number) => Promise<void>,
): Promise<void> {
  await inLanes(indexes.length, lanes, async (i, lane) => {
    const index = indexes[i];
    try {
      await run(publisherInput(SEED, index), lane);
    } catch (error) {
      (error as Error).message = `input ${index} (seed ${SEED}): ${(error as Error).message}` +
        `\nService output (end): ${service.output().slice(-3000)}`;
      throw error;
    }
  });
}

test(`${INPUTS} fuzzed publisher inputs (seed ${SEED}): the protocol's answer, never a crash`, {
  timeout: 120_000 + INPUTS * 20,
}, async () => {
  const worker = await applyWorker();
  assert.ok(worker !== undefined, "the subscription streams");

  await runAll(indexesOf(["startup", "password"]), LANES, async (input) => {
    if (input.phase === "startup") await runStartup(input.bytes);
    else if (input.phase === "password") await runPassword(input.answer);
  });
  assert.equal(await applyWorker(), worker, "the subscription kept its connection");
  await writeReachesPostgres();

  // Logged in, the fuzzer may take the stream; the subscription would take it back every few
  // seconds, racing with the inputs. It pauses meanwhile.
  await sql`ALTER SUBSCRIPTION postgres_1 DISABLE`;
  await waitFor(async () => (await applyWorker()) === undefined, {
    timeoutMs: 15_000,
    what: "the apply worker to stop",
  });

  const sessions = Array.from({ length: LANES }, () => new Session(false));
  try {
    await runAll(indexesOf(["ready"]), LANES, async (input, lane) => {
      if (input.phase === "ready") await sessions[lane].run(input.bytes);
    });
  } finally {
    for (const session of sessions) session.close();
  }
  const streaming = new Session(true);
  try {
    await runAll(indexesOf(["streaming"]), 1, async (input) => {
      if (input.phase === "streaming") await streaming.run(input.bytes);
    });
  } finally {
    streaming.close();
  }
  console.log(`publisher fuzz, seed ${SEED}, ${INPUTS} inputs: ${tally}`);
  assert.equal(tally.total, INPUTS);
  assert.doesNotMatch(service.output(), /Unhandled failure/);

  // The subscription streams again, and writes flow.
  await sql`ALTER SUBSCRIPTION postgres_1 ENABLE`;
  await writeReachesPostgres(60_000);
  assert.ok(await applyWorker() !== undefined, "the subscription streams");
});
