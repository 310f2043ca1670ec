/**
 * What the migrations proxy does with connections that do not log in: a silent one is closed
 * after PG_PROXY_AUTH_TIMEOUT with Postgres' own FATAL, a start-up packet with a bad length is
 * refused at once, and a second SSLRequest is a protocol violation.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { encodeStartup } from "../../src/pgwire/wire.ts";
import { MAX_UNAUTHENTICATED } from "../../src/proxy/server.ts";
import { waitFor } from "../helpers/wait.ts";
import { type ProxyHarness, startProxy } from "./proxy_harness.ts";

let proxy: ProxyHarness;

before(async () => {
  proxy = await startProxy({ env: { PG_PROXY_AUTH_TIMEOUT: "1" } });
});

after(async () => {
  await proxy.stop();
});

/** A raw connection and everything it received until the proxy closed it. */
async function rawSession(send: (socket: Socket) => void): Promise<Uint8Array> {
  const socket = connect({ host: "127.0.0.1", port: proxy.port });
  const chunks: Uint8Array[] = [];
  socket.on("data", (chunk) => chunks.push(new Uint8Array(chunk)));
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  send(socket);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("the proxy kept the connection open")), 10_000);
    socket.once("close", () => {
      clearTimeout(timer);
      resolve();
    });
  });
  return new Uint8Array(chunks.flatMap((c) => [...c]));
}

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

test("a connection that never logs in is closed after the timeout with FATAL 57014", async () => {
  const started = performance.now();
  const received = await rawSession(() => {});
  const seconds = (performance.now() - started) / 1000;
  assert.ok(seconds >= 0.9 && seconds < 5, `closed after ${seconds} s`);
  assert.equal(received[0], 0x45); // 'E'
  assert.match(text(received), /57014/);
  assert.match(text(received), /canceling authentication due to timeout/);
});

test("a start-up packet whose length is less than 8 is refused at once", async () => {
  const started = performance.now();
  const received = await rawSession((socket) => socket.write(new Uint8Array([0, 0, 0, 4])));
  assert.ok(performance.now() - started < 900, "refused before the timeout");
  assert.equal(received[0], 0x45);
  assert.match(text(received), /less than 8/);
});

test("a second SSLRequest is a protocol violation", async () => {
  const received = await rawSession((socket) => {
    socket.write(encodeStartup({ type: "SSLRequest" }));
    socket.write(encodeStartup({ type: "SSLRequest" }));
  });
  assert.equal(String.fromCharCode(received[0]), "N");
  assert.equal(received[1], 0x45);
  assert.match(text(received), /08P01/);
  assert.match(text(received), /SSLRequest sent twice/);
});

test("a client that logs in in time is not touched by the timeout", async () => {
  const client = proxy.client();
  assert.deepEqual([...(await client`SELECT 1 AS one`)], [{ one: 1 }]);
  // Time passing is the point here: the timer must not fire for a logged-in client.
  await new Promise((resolve) => setTimeout(resolve, 1500));
  assert.deepEqual([...(await client`SELECT 2 AS two`)], [{ two: 2 }]);
});

test("past the cap on connections still logging in, new ones are closed at once and logged", async () => {
  const capped = await startProxy();
  const sockets: Socket[] = [];
  try {
    const open = async () => {
      const socket = connect({ host: "127.0.0.1", port: capped.port });
      sockets.push(socket);
      const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
      await new Promise<void>((resolve, reject) => {
        socket.once("connect", resolve);
        socket.once("error", reject);
      });
      // Wrapped: an async function returning the promise itself would wait for it.
      return { closed };
    };
    for (let i = 0; i < MAX_UNAUTHENTICATED; i++) await open();
    const refused = await open();
    await refused.closed;
    await waitFor(() => capped.logs.some((l) => /Refused 1 proxy connection/.test(l)), {
      timeoutMs: 5_000,
      what: "the refusal in the log",
    });
    // The silent ones are still open: the cap refuses newcomers, it does not drop others.
    let stillOpen = 0;
    for (const socket of sockets.slice(0, MAX_UNAUTHENTICATED)) if (!socket.closed) stillOpen++;
    assert.equal(stillOpen, MAX_UNAUTHENTICATED);
  } finally {
    for (const socket of sockets) socket.destroy();
    await capped.stop();
  }
});
