import { test } from "node:test";
import assert from "node:assert/strict";
import { GOING_AWAY, OpenSockets } from "./open_sockets.ts";

class FakeSocket {
  closedWith?: [number, string];
  constructor(
    private readonly sockets: OpenSockets<FakeSocket>,
    private readonly answers: boolean,
  ) {}
  close(code: number, reason: string): void {
    this.closedWith = [code, reason];
    if (this.answers) queueMicrotask(() => this.sockets.delete(this));
  }
}

test("closeAll sends 1001 to every socket and resolves once all have closed", async () => {
  const sockets = new OpenSockets<FakeSocket>();
  const all = [new FakeSocket(sockets, true), new FakeSocket(sockets, true)];
  for (const socket of all) sockets.add(socket);
  const started = Date.now();
  await sockets.closeAll("Server shutting down", 10_000);
  assert.ok(Date.now() - started < 1_000);
  for (const socket of all) {
    assert.deepEqual(socket.closedWith, [GOING_AWAY, "Server shutting down"]);
  }
  assert.equal(sockets.size, 0);
});

test("a peer that never answers holds closeAll only for the wait given", async () => {
  const sockets = new OpenSockets<FakeSocket>();
  sockets.add(new FakeSocket(sockets, false));
  const started = Date.now();
  await sockets.closeAll("bye", 50);
  const took = Date.now() - started;
  assert.ok(took >= 40 && took < 2_000, `took ${took} ms`);
});

test("with nothing open closeAll returns at once", async () => {
  await new OpenSockets<FakeSocket>().closeAll("bye", 10_000);
});
