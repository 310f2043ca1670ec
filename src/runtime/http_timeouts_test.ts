/**
 * The HTTP port's slow-request defences on the runtime executing the test: a connection that
 * never completes its request head, or idles after a response, is closed; a WebSocket is not,
 * however long it idles; a message over the size limit gets close 1009. Deadlines are shortened to a second so the test runs in seconds
 * (except Bun's request-head deadline, which is fixed).
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { connect } from "node:net";
import { detectRuntime, type HttpServerHandle, loadRuntime } from "./mod.ts";

const DEADLINE_MS = 1000;
const MAX_MESSAGE = 4096;
/**
 * Generous: Deno's front enforces a deadline within a sweep of passing. Bun's request-head
 * deadline is its own, fixed at 10 s (checked every few seconds), whatever is configured.
 */
const CLOSED_WITHIN_MS = detectRuntime() === "deno" ? 6000 : 16_000;

let server: HttpServerHandle;

before(async () => {
  const runtime = await loadRuntime();
  const served = runtime.serve({
    port: 0,
    hostname: "127.0.0.1",
    headerTimeoutMs: DEADLINE_MS,
    idleTimeoutMs: DEADLINE_MS,
    maxMessageBytes: MAX_MESSAGE,
    fetch: (request) => {
      const upgraded = runtime.upgradeWebSocket(request, {
        handlers: {
          onOpen: () => {},
          onMessage: (socket, message) =>
            socket.send(typeof message === "string" ? new TextEncoder().encode(message) : message),
          onClose: () => {},
        },
      });
      return upgraded ?? new Response("ok");
    },
  });
  assert.ok(served.ok);
  server = served.server;
});

after(async () => {
  await server.close();
});

/** Opens a raw connection, writes `payload`, and reports what came back and when it closed. */
function rawConnection(payload: string) {
  const started = Date.now();
  const socket = connect({ host: "127.0.0.1", port: server.port }, () => socket.write(payload));
  let received = "";
  socket.on("data", (chunk) => received += chunk.toString());
  socket.on("error", () => {});
  const closed = new Promise<{ afterMs: number; received: string }>((resolve) =>
    socket.once("close", () => resolve({ afterMs: Date.now() - started, received }))
  );
  return { socket, closed };
}

async function closedInTime(closed: Promise<{ afterMs: number; received: string }>) {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) =>
    timer = setTimeout(() => reject(new Error("still open")), CLOSED_WITHIN_MS)
  );
  try {
    return await Promise.race([closed, late]);
  } finally {
    clearTimeout(timer);
  }
}

test("connections that never complete a request head are closed: silent, half-sent, dribbled", async () => {
  const silent = rawConnection("");
  const halfSent = rawConnection("GET / HTTP/1.1\r\nhost: x\r\n");
  const dribbled = rawConnection("G");
  const dribble = setInterval(() => dribbled.socket.write("E"), 100);
  try {
    const [quiet, half, slow] = await Promise.all(
      [silent, halfSent, dribbled].map(({ closed }) => closedInTime(closed)),
    );
    assert.ok(quiet.afterMs >= DEADLINE_MS - 100, `closed after ${quiet.afterMs} ms`);
    // The whole head is due in time, however many bytes trickle in.
    assert.ok(slow.afterMs < CLOSED_WITHIN_MS, `closed after ${slow.afterMs} ms`);
    if (detectRuntime() === "deno") assert.match(half.received, /^HTTP\/1\.1 408 /);
  } finally {
    clearInterval(dribble);
  }
});

test("a keep-alive connection idle after its response is closed", async () => {
  const { received } = await closedInTime(
    rawConnection("GET / HTTP/1.1\r\nhost: x\r\n\r\n").closed,
  );
  assert.match(received, /^HTTP\/1\.1 200 /);
});

test("a WebSocket idle for longer than the deadlines stays open", async () => {
  const ws = new WebSocket(`ws://127.0.0.1:${server.port}/ws`);
  ws.binaryType = "arraybuffer";
  await new Promise<void>((resolve, reject) => {
    ws.onopen = () => resolve();
    ws.onerror = () => reject(new Error("WebSocket failed to open"));
  });
  let closedEarly = false;
  ws.onclose = () => closedEarly = true;
  // Not synchronisation: the point is that time passes with nothing sent.
  await new Promise((resolve) => setTimeout(resolve, 3 * DEADLINE_MS));
  assert.equal(closedEarly, false);
  const echoed = new Promise<Uint8Array>((resolve) =>
    ws.onmessage = (event) => resolve(new Uint8Array(event.data as ArrayBuffer))
  );
  ws.send(Uint8Array.of(1, 2, 3));
  assert.deepEqual(await echoed, Uint8Array.of(1, 2, 3));
  ws.close();
});

test("a WebSocket message over the limit is answered with close 1009", async () => {
  const ws = new WebSocket(`ws://127.0.0.1:${server.port}/ws`);
  ws.binaryType = "arraybuffer";
  await new Promise<void>((resolve, reject) => {
    ws.onopen = () => resolve();
    ws.onerror = () => reject(new Error("WebSocket failed to open"));
  });
  const echoed = new Promise<void>((resolve) => ws.onmessage = () => resolve());
  ws.send(new Uint8Array(MAX_MESSAGE)); // at the limit: taken
  await echoed;
  const closed = new Promise<number>((resolve) => ws.onclose = (event) => resolve(event.code));
  ws.send(new Uint8Array(MAX_MESSAGE + 1));
  assert.equal(await closed, 1009);
});
