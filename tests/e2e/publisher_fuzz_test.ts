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
import { CREATE_TABLE, WritingClient } from "../../scripts/bench/client_writes/writing_clients.ts";
import { findFreePort } from "../../src/embedded/mod.ts";
import {
  type BackendMessage,
  encodeFrontend,
  encodeStartup,
  md5PasswordResponse,
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
  startupFraming,
  takeMessages,
} from "../helpers/pg_fuzz.ts";
import { waitFor } from "../helpers/wait.ts";
import {
  MAX_MESSAGE,
  type PublisherInput,
  publisherInput,
  startReplication,
  SUBSCRIBER,
} from "./publisher_fuzz_inputs.ts";

const { seed: SEED, inputs: INPUTS, lanes: LANES, debug: DEBUG } = fuzzSettings(20261207);

let target: FuzzService;
let publisherPort: number;
/** The password in the subscription's connection string, which the publisher asks for. */
let secret: string;
let writer: WritingClient | undefined;

before(async () => {
  publisherPort = await findFreePort();
  target = await startFuzzService({
    setup: CREATE_TABLE,
    env: {
      ELECTRIC_WRITE_TO_PG_MODE: "logical_replication",
      LOGICAL_PUBLISHER_HOST: "127.0.0.1",
      LOGICAL_PUBLISHER_PORT: String(publisherPort),
    },
    electrify: ["client_writes"],
  });
  await waitFor(async () => {
    const res = await fetch(`http://127.0.0.1:${target.port}/api/migrations?dialect=sqlite`);
    await res.body?.cancel();
    return res.status === 200;
  }, { timeoutMs: 30_000, what: "the migration of client_writes" });
  const [row] = await target.sql<{ conninfo: string }[]>`
    SELECT subconninfo AS conninfo FROM pg_subscription WHERE subname = 'postgres_1'`;
  secret = /(?:^|\s)password=(\S+)/.exec(row.conninfo)![1];
  writer = await WritingClient.connect("127.0.0.1", target.port, 0);
  await writeReachesPostgres();
});

after(async () => {
  writer?.close();
  await target?.stop();
});

/** The pid of the subscription's apply worker, once it runs. */
async function applyWorker(): Promise<number | undefined> {
  const rows = await target.sql<{ pid: number | null }[]>`
    SELECT pid FROM pg_stat_subscription WHERE subname = 'postgres_1' AND relid IS NULL`;
  return rows[0]?.pid ?? undefined;
}

/** A client write goes through the publisher and the subscription into Postgres. */
async function writeReachesPostgres(timeoutMs = 30_000): Promise<void> {
  writer!.write();
  const id = `0-${writer!.sequence}`;
  const written = async () =>
    (await target.sql`SELECT 1 FROM client_writes WHERE id = ${id}`).length > 0;
  await waitFor(written, {
    timeoutMs,
    what: () => `client write ${id} in Postgres\n${target.service.output().slice(-3000)}`,
  });
}

const tally = new Tally(DEBUG);

/** Logs in as the subscription does, with the secret. */
async function logIn(): Promise<RawPeer> {
  const peer = await RawPeer.connect(publisherPort);
  peer.write(encodeStartup({
    type: "StartupMessage",
    protocolVersion: PROTOCOL_3_0,
    parameters: SUBSCRIBER,
  }));
  const response = md5PasswordResponse(SUBSCRIBER.user, secret, await md5Challenge(peer));
  peer.write(encodeFrontend({
    type: "PasswordMessage",
    data: concat(new TextEncoder().encode(response), Uint8Array.of(0)),
  }));
  await firstReadyForQuery(peer, "logged in");
  return peer;
}

/** Bytes before authentication, on a new connection. */
async function runStartup(bytes: Uint8Array): Promise<void> {
  const peer = await RawPeer.connect(publisherPort);
  try {
    const answered = startupFraming(bytes) !== "incomplete";
    const messages = await answerThenClose(peer, bytes, {
      answered,
      declines: leadingEncryptionRequests(bytes),
    });
    const silent = messages.length === 0 && answered && !isCancelRequest(bytes);
    tally.note(`before authentication: ${describeAnswer(messages)}`, {
      input: bytes,
      unusual: silent,
    });
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
    const bytes = answer(await md5Challenge(peer));
    const complete = bytes.length > 0 && framing(bytes, MAX_MESSAGE).end !== "incomplete";
    const messages = await answerThenClose(peer, bytes, { answered: complete });
    tally.note(`wrong password: ${describeAnswer(messages)}`, {
      input: bytes,
      unusual: complete && messages.length === 0,
    });
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
      tally.note(`${phase}: cut short and closed`, { input: bytes, unusual: false });
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
      const cause = closeCause(errors, terminates);
      tally.note(`${phase}: closed after ${cause}`, { input: bytes, unusual: cause === "nothing" });
      assertClosedForCause(peer, { cause, input: bytes, messages });
      return;
    }
    assert.notEqual(end, "invalid", `an invalid message was not refused: ${hex(bytes)}`);
    tally.note(`${phase}: probe answered${errors.length > 0 ? ` after E${errors[0]}` : ""}`, {
      input: bytes,
      unusual: false,
    });
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
  await runInputs(indexes, (index, lane) => run(publisherInput(SEED, index), lane), {
    seed: SEED,
    lanes,
    context: target.outputTail,
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
  await target.sql`ALTER SUBSCRIPTION postgres_1 DISABLE`;
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
  target.assertNoFailureLogged(/Unhandled failure/);

  // The subscription streams again, and writes flow.
  await target.sql`ALTER SUBSCRIPTION postgres_1 ENABLE`;
  await writeReachesPostgres(60_000);
  assert.ok(await applyWorker() !== undefined, "the subscription streams");
});
