/**
 * Seeded fuzzing of the HTTP port (the Hono app and the runtime's WebSocket upgrade) over raw
 * TCP: 10,000 inputs (raw bytes; request lines with random methods, targets, versions and
 * headers; WebSocket handshakes on `/ws` and `/proxy` with the handshake headers missing,
 * garbled or repeated; see http_fuzz_inputs.ts), each on its own connection, spread over a
 * few concurrent lanes.
 *
 * Every input must be resolved within a deadline: a complete request gets a well-formed
 * response, one whose end is not there gets one or a close once the client ends its side. A
 * handshake is upgraded (101) exactly when it is valid and refused with 400 otherwise; no
 * request gets a 5xx. The service must log no unhandled failure, and `/api/status` and a real
 * Satellite client must still be served at the end. FUZZ_SEED and FUZZ_INPUTS override the
 * defaults; FUZZ_DEBUG prints unusual outcomes.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { findFreePort } from "../../src/embedded/mod.ts";
import { ANSWER_MS, fuzzSettings, RawPeer, runInputs, Tally } from "../helpers/fuzz.ts";
import { type FuzzService, startFuzzService } from "../helpers/fuzz_service.ts";
import { connectClient } from "../helpers/satellite_client.ts";
import { type HttpInput, httpInput } from "./http_fuzz_inputs.ts";

const { seed: SEED, inputs: INPUTS, lanes: LANES, debug: DEBUG } = fuzzSettings(20261206, {
  lanes: 16,
});
/** Statuses a request may get; a 5xx other than 505 would be the service failing. */
const ALLOWED = new Set(
  [101, 200, 204, 400, 403, 404, 405, 408, 411, 413, 414, 415, 426, 431, 505],
);

let target: FuzzService;

before(async () => {
  const proxyPort = await findFreePort();
  target = await startFuzzService({ env: { PG_PROXY_PORT: `http:${proxyPort}` } });
});

after(() => target?.stop());

const HEAD_END = "\r\n\r\n";

/** The status of the first final response in `received`, once its head is complete. */
function finalStatus(received: Uint8Array): number | "incomplete" | "malformed" {
  let text = Buffer.from(received).toString("latin1");
  for (;;) {
    const end = text.indexOf(HEAD_END);
    if (end < 0) return "incomplete";
    const match = /^HTTP\/1\.[01] (\d{3})(?: [^\r\n]*)?\r\n/.exec(text);
    if (!match) return "malformed";
    const status = Number(match[1]);
    if (status !== 100) return status; // 100 Continue is followed by the real answer
    text = text.slice(end + HEAD_END.length);
  }
}

const tally = new Tally();

async function run(input: HttpInput): Promise<void> {
  const peer = await RawPeer.connect(target.port);
  try {
    peer.write(Buffer.from(input.bytes, "latin1"));
    if (!input.complete) peer.end();
    const outcome = await peer.until(
      () => {
        const status = finalStatus(peer.received);
        if (status !== "incomplete") return { status };
        return peer.closed
          ? { status: peer.reset ? "reset" as const : "closed" as const }
          : undefined;
      },
      ANSWER_MS,
      "response",
    );
    const { status } = outcome;
    tally.add(`${input.kind}: ${status}`);
    const shown = JSON.stringify(input.bytes.slice(0, 600));
    const unusual = typeof status === "string" ? input.wellFormed : !ALLOWED.has(status);
    if (unusual && DEBUG) console.log(status, shown);
    if (status === "malformed") assert.fail(`a malformed response to ${shown}`);
    if (status === "closed" || status === "reset") {
      assert.ok(!input.wellFormed, `closed without a response: ${shown}`);
      assert.equal(peer.received.length, 0, `a cut-off response to ${shown}`);
      return;
    }
    assert.ok(ALLOWED.has(status), `${status} for ${shown}`);
    if (input.wellFormed) assert.ok(status < 500, `${status} for ${shown}`);
    if (input.upgrade !== undefined) {
      assert.equal(status, input.upgrade ? 101 : 400, `handshake ${shown}`);
    } else {
      assert.notEqual(status, 101, `upgraded: ${shown}`);
    }
  } finally {
    peer.destroy();
  }
}

test(`${INPUTS} fuzzed HTTP inputs (seed ${SEED}): a well-formed answer, never a crash`, {
  timeout: 120_000 + INPUTS * 20,
}, async () => {
  await runInputs(INPUTS, (index) => run(httpInput(SEED, index)), {
    seed: SEED,
    lanes: LANES,
    context: target.outputTail,
  });
  console.log(`http fuzz, seed ${SEED}, ${INPUTS} inputs: ${tally}`);
  assert.equal(tally.total, INPUTS);
  target.assertNoFailureLogged(/Unhandled failure|Internal server error/);

  await target.assertStatusOk();
  const client = await connectClient(`ws://127.0.0.1:${target.port}/ws`);
  client.close();
  await client.closed;
});
