/**
 * Bundled client migrations the way `electric-sql generate` builds them: fetch
 * `GET /api/migrations?dialect=sqlite` (a zip with `<version>/metadata.json` per version), decode
 * each metadata file with the client's own `parseMetadata` and turn it into SQLite statements
 * plus oplog triggers with `makeMigration`. The result is what `createClient({ migrations })`
 * expects.
 */
import { inflateRawSync } from "node:zlib";
import {
  makeMigration,
  parseMetadata,
  sqliteBuilder,
} from "electric-sql/migrators/builder";

/**
 * The file entries of a zip archive (stored or deflated; central directory based).
 * @param {Uint8Array} bytes
 * @returns {Map<string, Uint8Array>}
 */
export function unzip(bytes) {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let eocd = -1;
  for (let i = buf.length - 22; i >= 0; i--) {
    if (buf.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error("Not a zip archive (no end of central directory)");
  const count = buf.readUInt16LE(eocd + 10);
  let offset = buf.readUInt32LE(eocd + 16);
  /** @type {Map<string, Uint8Array>} */
  const files = new Map();
  for (let n = 0; n < count; n++) {
    if (buf.readUInt32LE(offset) !== 0x02014b50) {
      throw new Error("Corrupt zip central directory");
    }
    const method = buf.readUInt16LE(offset + 10);
    const compressedSize = buf.readUInt32LE(offset + 20);
    const nameLength = buf.readUInt16LE(offset + 28);
    const extraLength = buf.readUInt16LE(offset + 30);
    const commentLength = buf.readUInt16LE(offset + 32);
    const localOffset = buf.readUInt32LE(offset + 42);
    const name = buf.subarray(offset + 46, offset + 46 + nameLength).toString(
      "utf8",
    );
    const localNameLength = buf.readUInt16LE(localOffset + 26);
    const localExtraLength = buf.readUInt16LE(localOffset + 28);
    const start = localOffset + 30 + localNameLength + localExtraLength;
    const data = buf.subarray(start, start + compressedSize);
    files.set(
      name,
      method === 0 ? new Uint8Array(data) : new Uint8Array(inflateRawSync(data)),
    );
    offset += 46 + nameLength + extraLength + commentLength;
  }
  return files;
}

/**
 * Client migrations for every version the service lists (after `afterVersion`, if given),
 * in the service's order.
 * @param {string} serviceUrl
 * @param {{ afterVersion?: string, upToVersion?: string }} [options] `upToVersion` drops later versions
 * @returns {Promise<{ statements: string[], version: string }[]>}
 */
export async function fetchBundledMigrations(serviceUrl, options = {}) {
  const query = new URLSearchParams({ dialect: "sqlite" });
  if (options.afterVersion) query.set("version", options.afterVersion);
  const res = await fetch(`${serviceUrl}/api/migrations?${query}`);
  if (res.status === 204) return [];
  if (res.status !== 200) {
    throw new Error(
      `GET /api/migrations answered ${res.status}: ${await res.text()}`,
    );
  }
  const files = unzip(new Uint8Array(await res.arrayBuffer()));
  /** @type {{ statements: string[], version: string }[]} */
  const migrations = [];
  for (const [name, data] of files) {
    if (!name.endsWith("/metadata.json")) continue;
    const metadata = parseMetadata(JSON.parse(Buffer.from(data).toString("utf8")));
    migrations.push(makeMigration(metadata, sqliteBuilder));
  }
  const upTo = options.upToVersion;
  if (upTo !== undefined) {
    const index = migrations.findIndex((m) => m.version === upTo);
    if (index < 0) throw new Error(`Version ${upTo} is not served`);
    return migrations.slice(0, index + 1);
  }
  return migrations;
}
