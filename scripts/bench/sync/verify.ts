/**
 * The check behind `LightClient`'s `verify` option: decodes a SatOpLog frame fully with the
 * service's codec and compares it with what `scanOpLog` reads from the same bytes (row count,
 * commits, markers, LSNs, transaction id). Throws on any difference. Runs for one client per
 * scenario, on transactions only.
 */
import { decodeFrame } from "../../../src/satellite/codec/mod.ts";
import { scanOpLog, type TxCursor } from "./oplog_scan.ts";

/** `cursor` is the client's state before this frame; it is not modified. */
export function verifyOpLog(data: Uint8Array, cursor: TxCursor, column: number): void {
  const frame = decodeFrame(data);
  if (!frame.ok || frame.name !== "SatOpLog") {
    throw new Error(`Undecodable SatOpLog: ${frame.ok ? frame.name : frame.error.message}`);
  }
  const probe = { ...cursor };
  const commits: { marker: number; txid: Uint8Array; lsn: Uint8Array }[] = [];
  const rows = scanOpLog(data, probe, column, (c) => commits.push({ ...c }));
  let expectedRows = 0;
  let marker = cursor.open ? cursor.marker : -1;
  let begin: { transactionId?: bigint; lsn: Uint8Array } | undefined;
  const expected: { marker: number; lsn: Uint8Array }[] = [];
  for (const { op } of frame.message.ops) {
    if (op.case === "begin") {
      begin = op.value;
      marker = -1;
    } else if (op.case === "commit") {
      expected.push({ marker, lsn: begin?.lsn ?? cursor.lsn });
    } else if (op.case === "insert" || op.case === "update") {
      expectedRows++;
      if (marker < 0 && column >= 0) {
        const value = op.value.rowData?.values[column];
        const text = value && value.length > 0 ? new TextDecoder().decode(value) : "";
        marker = /^\d+$/.test(text) ? Number(text) : -1;
      }
    } else if (op.case === "delete" || op.case === "gone") {
      expectedRows++;
    }
  }
  const same = (a: Uint8Array, b: Uint8Array) =>
    a.length === b.length && a.every((x, i) => x === b[i]);
  if (rows !== expectedRows) throw new Error(`Scan counted ${rows} rows, decode ${expectedRows}`);
  if (commits.length !== expected.length) throw new Error("Scan and decode disagree on commits");
  commits.forEach((c, i) => {
    if (c.marker !== expected[i].marker || !same(c.lsn, expected[i].lsn)) {
      throw new Error(`Scan read marker ${c.marker}, decode ${expected[i].marker}`);
    }
  });
  if (begin?.transactionId !== undefined && commits.length > 0) {
    const out: number[] = [];
    let v = begin.transactionId;
    while (v >= 0x80n) {
      out.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    out.push(Number(v));
    if (!same(commits[commits.length - 1].txid, Uint8Array.from(out))) {
      throw new Error("Scan and decode disagree on the transaction id");
    }
  }
}
