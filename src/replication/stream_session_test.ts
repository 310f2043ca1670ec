import { test } from "node:test";
import assert from "node:assert/strict";
import {
  decodeReplicationMessage,
  encodePgoutput,
  encodeReplicationMessage,
  type PgoutputMessage,
  type StandbyStatusUpdate,
} from "../pgwire/mod.ts";
import { ReplicationStreamSession } from "./stream_session.ts";

const xlog = (message: PgoutputMessage) =>
  encodeReplicationMessage({
    tag: "xlog_data",
    walStart: 0n,
    walEnd: 0n,
    serverTime: 0n,
    data: encodePgoutput(message),
  });
const keepalive = (walEnd: bigint, replyRequested = false) =>
  encodeReplicationMessage({ tag: "primary_keepalive", walEnd, serverTime: 0n, replyRequested });

function transaction(commitLsn: bigint, endLsn: bigint): Uint8Array[] {
  return [
    xlog({ tag: "begin", finalLsn: commitLsn, commitTime: 0n, xid: 1 }),
    xlog({ tag: "commit", flags: 0, commitLsn, endLsn, commitTime: 0n }),
  ];
}

function session(replayedThrough?: bigint) {
  return new ReplicationStreamSession({
    origin: "postgres_1",
    startLsn: 100n,
    replayedThrough,
    statusIntervalMs: 10_000,
  });
}

test("transactions at or before the persisted position are replays, later ones are new", () => {
  const s = session(300n);
  const emitted = [
    ...transaction(200n, 210n),
    ...transaction(300n, 300n),
    ...transaction(400n, 410n),
  ]
    .flatMap((payload) => s.receive(payload, 0).transactions)
    .map((e) => [e.transaction.lsn, e.replayed]);
  assert.deepEqual(emitted, [[210n, true], [300n, true], [410n, false]]);
  assert.equal(s.pendingLsn, 410n);
});

test("only confirmed positions are acknowledged", () => {
  const s = session();
  for (const payload of transaction(200n, 210n)) s.receive(payload, 0);
  // Asked for a reply before the transport confirmed: still the start position.
  const [reply] = s.receive(keepalive(500n, true), 0).replies;
  assert.equal(reply.flushed, 100n);
  const status: StandbyStatusUpdate = s.confirm(s.pendingLsn, 0);
  assert.equal(status.flushed, 500n);
  assert.equal(status.written, 500n);
  assert.equal(status.applied, 500n);
});

test("a keepalive inside a transaction does not move the pending position", () => {
  const s = session();
  s.receive(xlog({ tag: "begin", finalLsn: 900n, commitTime: 0n, xid: 1 }), 0);
  s.receive(keepalive(800n), 0);
  assert.equal(s.pendingLsn, 100n);
  s.receive(xlog({ tag: "commit", flags: 0, commitLsn: 900n, endLsn: 950n, commitTime: 0n }), 0);
  assert.equal(s.pendingLsn, 950n);
});

test("periodic status updates are due once per interval", () => {
  const s = session();
  const first = s.tick(1_000);
  assert.ok(first);
  assert.deepEqual(decodeReplicationMessage(encodeReplicationMessage(first)), {
    ok: true,
    message: first,
  });
  assert.equal(s.tick(5_000), undefined);
  assert.ok(s.tick(11_000));
});

test("undecodable payloads and protocol violations are error values", () => {
  const s = session();
  assert.equal(s.receive(new Uint8Array([0x7a]), 0).error?.code, "DECODE_FAILED");
  assert.equal(
    s.receive(xlog({ tag: "commit", flags: 0, commitLsn: 1n, endLsn: 2n, commitTime: 0n }), 0)
      .error?.code,
    "PROTOCOL_VIOLATION",
  );
});
