/**
 * Reads a ZIP archive the way unzip tools do (central directory first), for asserting on what
 * `/api/migrations` serves. Independent of the service's own writer.
 */
import { inflateRawSync } from "node:zlib";

export function readZip(zip: Uint8Array): Map<string, string> {
  const view = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  const endAt = zip.length - 22;
  if (view.getUint32(endAt, true) !== 0x06054b50) throw new Error("not a zip archive");
  const count = view.getUint16(endAt + 10, true);
  let at = view.getUint32(endAt + 16, true);
  const out = new Map<string, string>();
  for (let i = 0; i < count; i++) {
    if (view.getUint32(at, true) !== 0x02014b50) throw new Error("bad central directory");
    const method = view.getUint16(at + 10, true);
    const size = view.getUint32(at + 20, true);
    const nameLength = view.getUint16(at + 28, true);
    const extraLength = view.getUint16(at + 30, true);
    const commentLength = view.getUint16(at + 32, true);
    const localAt = view.getUint32(at + 42, true);
    const name = new TextDecoder().decode(zip.subarray(at + 46, at + 46 + nameLength));
    const dataAt = localAt + 30 + view.getUint16(localAt + 26, true) +
      view.getUint16(localAt + 28, true);
    const raw = zip.subarray(dataAt, dataAt + size);
    out.set(name, new TextDecoder().decode(method === 8 ? inflateRawSync(raw) : raw));
    at += 46 + nameLength + extraLength + commentLength;
  }
  return out;
}
