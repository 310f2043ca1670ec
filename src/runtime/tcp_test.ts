import assert from "node:assert/strict";
import { test } from "node:test";
import { createNodeTcp, loadRuntime, type TcpConnection, type TcpRuntime } from "./mod.ts";

const implementations: [string, () => Promise<TcpRuntime>][] = [
  ["native", () => loadRuntime()],
  ["node:net", () => Promise.resolve(createNodeTcp())],
];

function collect(connection: TcpConnection) {
  const chunks: Uint8Array[] = [];
  let closed: ((error?: Error) => void) | undefined;
  const gone = new Promise<Error | undefined>((resolve) => closed = resolve);
  let total = 0;
  const waiters: [number, () => void][] = [];
  connection.start({
    onData: (chunk) => {
      chunks.push(chunk);
      total += chunk.length;
      for (const [n, resolve] of waiters) if (total >= n) resolve();
    },
    onClose: (error) => closed!(error),
  });
  return {
    gone,
    bytes: () => {
      const out = new Uint8Array(total);
      let at = 0;
      for (const c of chunks) (out.set(c, at), at += c.length);
      return out;
    },
    received: (n: number) =>
      new Promise<void>((resolve) => total >= n ? resolve() : waiters.push([n, resolve])),
  };
}

for (const [name, make] of implementations) {
  test(`${name}: echo, coalesced writes, end flushes, close reported once`, async () => {
    const tcp = await make();
    const listened = await tcp.listenTcp({
      hostname: "127.0.0.1",
      port: 0,
      onConnection: (server) =>
        server.start({ onData: (chunk) => server.write(chunk), onClose: () => {} }),
    });
    assert.ok(listened.ok);
    const client = await tcp.connectTcp({ hostname: "127.0.0.1", port: listened.server.port });
    const seen = collect(client);
    const parts = Array.from({ length: 100 }, (_, i) => new Uint8Array(7).fill(i));
    for (const part of parts) assert.equal(client.write(part), true);
    await seen.received(700);
    assert.deepEqual(seen.bytes(), new Uint8Array(parts.flatMap((p) => [...p])));
    client.end();
    assert.equal(await seen.gone, undefined);
    await listened.server.close();
  });

  test(`${name}: a large write passes the high-water mark and drains`, async () => {
    const tcp = await make();
    let serverSide: TcpConnection | undefined;
    const size = 8 * 1024 * 1024;
    let received = 0;
    let done: () => void;
    const all = new Promise<void>((resolve) => done = resolve);
    const listened = await tcp.listenTcp({
      hostname: "127.0.0.1",
      port: 0,
      onConnection: (server) => {
        serverSide = server;
        server.pause();
        server.start({
          onData: (chunk) => {
            received += chunk.length;
            if (received >= size) done();
          },
        });
      },
    });
    assert.ok(listened.ok);
    const client = await tcp.connectTcp({ hostname: "127.0.0.1", port: listened.server.port });
    let drained = false;
    client.start({ onData: () => {}, onDrain: () => drained = true });
    const big = new Uint8Array(size).fill(42);
    assert.equal(client.write(big), false);
    await new Promise((resolve) => setTimeout(resolve, 50));
    serverSide!.resume();
    await all;
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(received, size);
    assert.equal(drained, true);
    client.close();
    serverSide!.close();
    await listened.server.close();
  });

  test(`${name}: peer close is reported; busy port and refused connect are errors`, async () => {
    const tcp = await make();
    const listened = await tcp.listenTcp({
      hostname: "127.0.0.1",
      port: 0,
      onConnection: (server) => {
        server.write(new Uint8Array([1, 2, 3]));
        server.end();
      },
    });
    assert.ok(listened.ok);
    const port = listened.server.port;
    const busy = await tcp.listenTcp({ hostname: "127.0.0.1", port, onConnection: () => {} });
    assert.equal(busy.ok ? "ok" : busy.error.code, "ADDRESS_IN_USE");
    const client = await tcp.connectTcp({ hostname: "127.0.0.1", port });
    const seen = collect(client);
    await seen.gone;
    assert.deepEqual(seen.bytes(), new Uint8Array([1, 2, 3]));
    await listened.server.close();
    await assert.rejects(tcp.connectTcp({ hostname: "127.0.0.1", port }), /127\.0\.0\.1/);
  });
}
