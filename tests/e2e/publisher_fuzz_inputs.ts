/**
 * The inputs of `publisher_fuzz_test.ts`, drawn per index from a seed, in three phases:
 *
 * - before authentication: start-up packets (random bytes and lengths, SSLRequest,
 *   GSSENCRequest, CancelRequest, StartupMessages with random versions and parameters), or a
 *   subscriber's StartupMessage followed by a wrong answer to the MD5 challenge (a wrong
 *   password, random text, garbled bytes, another message): never the secret;
 * - logged in: random type bytes and lengths, known messages with random bodies, random
 *   replication queries, the subscriber's queries with flipped bits, several at once;
 * - streaming (after START_REPLICATION): random CopyData payloads, standby status updates and
 *   feedback with random fields, CopyDone, Terminate, other messages.
 */
import { encodeFrontend, type FrontendMessage, md5PasswordResponse } from "../../src/pgwire/mod.ts";
import { be32, concat, Fuzz, utf8 } from "../helpers/fuzz.ts";
import { cancelRequest, encryptionRequests, startupPacket, tagged } from "../helpers/pg_fuzz.ts";

/** The publisher's limit on a subscriber message; longer ones are refused at once. */
export const MAX_MESSAGE = 1024 * 1024;
export const PUBLICATION = "electric_publication";
/** The StartupMessage parameters of the service's own subscription. */
export const SUBSCRIBER = {
  user: "postgres",
  database: "electric",
  replication: "database",
  application_name: "postgres_1",
  client_encoding: "UTF8",
};

export type PublisherInput =
  /** Bytes on a new connection. */
  | { phase: "startup"; bytes: Uint8Array }
  /** The subscriber's StartupMessage, then `answer(salt)` to the MD5 challenge. */
  | { phase: "password"; answer: (salt: Uint8Array) => Uint8Array }
  /** Bytes on a logged-in connection. */
  | { phase: "ready"; bytes: Uint8Array }
  /** Bytes on a connection that is streaming. */
  | { phase: "streaming"; bytes: Uint8Array };

const q = (sql: string): FrontendMessage => ({ type: "Query", sql });
const encodeAll = (messages: FrontendMessage[]) => concat(...messages.map(encodeFrontend));

/** What a subscribing Postgres sends once logged in (postgres-side.md §8.7). */
export const SUBSCRIBER_QUERIES = [
  "SELECT pg_catalog.set_config('search_path', '', false);",
  `SELECT DISTINCT t.schemaname, t.tablename FROM pg_catalog.pg_publication_tables t ` +
  `WHERE t.pubname IN ('${PUBLICATION}')`,
  "SELECT c.oid, c.relreplident, c.relkind FROM pg_catalog.pg_class c INNER JOIN " +
  "pg_catalog.pg_namespace n ON (c.relnamespace = n.oid) WHERE n.nspname = 'public' " +
  "AND c.relname = 'client_writes'",
  "SELECT a.attname, a.atttypid, a.attnum = ANY(i.indkey) FROM pg_catalog.pg_attribute a " +
  "LEFT JOIN pg_catalog.pg_index i ON (i.indexrelid = pg_get_replica_identity_index(16400)) " +
  "WHERE a.attnum > 0::pg_catalog.int2 AND NOT a.attisdropped AND a.attrelid = 16400 " +
  "ORDER BY a.attnum",
  "IDENTIFY_SYSTEM",
  "BEGIN READ ONLY ISOLATION LEVEL REPEATABLE READ",
  "COMMIT",
  'DROP_REPLICATION_SLOT "pg_16500_sync_16400_7300000000000000001" WAIT',
  'CREATE_REPLICATION_SLOT "pg_16500_sync" LOGICAL pgoutput USE_SNAPSHOT',
];

/** START_REPLICATION as the subscription sends it. */
export function startReplication(lsn = "0/0"): string {
  return `START_REPLICATION SLOT "postgres_1" LOGICAL ${lsn} ` +
    `(proto_version '1', publication_names '"${PUBLICATION}"')`;
}

/** What random replication queries are strung from. */
const QUERY_TOKENS = [
  ...'IDENTIFY_SYSTEM START_REPLICATION SLOT "postgres_1" postgres_1 LOGICAL 0/0 1/'.split(" "),
  ..."FFFFFFFF/FFFFFFFF ( ) BEGIN COMMIT CREATE_REPLICATION_SLOT DROP_REPLICATION_SLOT".split(" "),
  ..."SELECT FROM WHERE ' \" ; , \t \u00e9".split(" "),
  "proto_version '1'",
  "publication_names '\"electric_publication\"'",
  "pg_catalog.set_config('search_path', '', false)",
  "pg_catalog.pg_publication_tables t",
  "a.attrelid = 99999999999999999999",
];

function randomQuery(f: Fuzz): string {
  if (f.chance(0.15)) return f.text(f.int(60));
  const tokens = Array.from({ length: 1 + f.int(8) }, () => f.pick(QUERY_TOKENS));
  return tokens.join(f.pick([" ", "  ", ""]));
}

function randomParameters(f: Fuzz): [string, string][] {
  const out: [string, string][] = [];
  for (const [name, value] of Object.entries(SUBSCRIBER)) {
    if (f.chance(0.8)) out.push([name, f.chance(0.8) ? value : f.text(f.int(12))]);
  }
  for (let n = f.int(3); n > 0; n--) out.push([f.text(1 + f.int(8)), f.text(f.int(16))]);
  return out;
}

function startupInput(f: Fuzz): Uint8Array {
  switch (f.int(7)) {
    case 0:
      return f.bytes(f.int(48));
    case 1:
      return concat(be32(f.u32()), f.bytes(f.int(40)));
    case 2: // encryption requests, then maybe a StartupMessage
      return concat(
        encryptionRequests(f),
        f.chance(0.5) ? startupPacket(f, randomParameters(f)) : new Uint8Array(),
      );
    case 3:
      return cancelRequest(f);
    case 4:
      return f.flipBits(startupPacket(f, Object.entries(SUBSCRIBER)));
    default:
      return startupPacket(f, randomParameters(f));
  }
}

/** Wrong answers to the challenge (the secret is never sent before authentication). */
function passwordAnswer(f: Fuzz): (salt: Uint8Array) => Uint8Array {
  const kind = f.int(7);
  const noise = f.bytes(f.int(40));
  const text = f.text(f.int(40));
  const flips = f.int(1 << 30);
  const tag = f.int(256);
  const query = f.chance(0.5) ? startReplication() : f.pick(SUBSCRIBER_QUERIES);
  return (salt) => {
    const password = (body: Uint8Array) => tagged(0x70, body); // 'p'
    const wrong = md5PasswordResponse("postgres", "not the secret", salt);
    switch (kind) {
      case 0:
        return password(concat(utf8(wrong), Uint8Array.of(0)));
      case 1:
        return password(concat(utf8(text), Uint8Array.of(0)));
      case 2:
        return password(utf8(wrong)); // no NUL
      case 3: // skipping authentication: a query, even START_REPLICATION
        return encodeFrontend(q(query));
      case 4:
        return noise;
      case 5:
        return tagged(tag, noise);
      default:
        return new Fuzz(flips).flipBits(password(concat(utf8(wrong), Uint8Array.of(0))));
    }
  };
}

function readyInput(f: Fuzz): Uint8Array {
  switch (f.int(7)) {
    case 0:
      return concat(Uint8Array.of(f.int(256)), be32(f.u32()), f.bytes(f.int(48)));
    case 1:
      return tagged(f.pick([..."QXdcfpPBESHCDF"].map((c) => c.charCodeAt(0))), f.bytes(f.int(40)));
    case 2:
      return encodeFrontend(q(randomQuery(f)));
    case 3: // a subscriber's query with flipped bits (START_REPLICATION rarely)
      return f.flipBits(
        encodeFrontend(q(f.chance(0.1) ? startReplication() : f.pick(SUBSCRIBER_QUERIES))),
      );
    case 4: { // a subscriber's query cut short
      const bytes = encodeFrontend(q(f.pick(SUBSCRIBER_QUERIES)));
      return bytes.subarray(0, f.int(bytes.length));
    }
    case 5: // messages of the streaming phase, out of place
      return encodeAll([f.pick<FrontendMessage>([
        { type: "CopyData", data: f.bytes(f.int(40)) },
        { type: "CopyDone" },
        { type: "Sync" },
        { type: "Flush" },
        { type: "CopyFail", message: f.text(f.int(10)) },
      ])]);
    default: // several of the subscriber's queries at once
      return encodeAll(
        Array.from({ length: 1 + f.int(4) }, () => q(f.pick(SUBSCRIBER_QUERIES))),
      );
  }
}

/** A StandbyStatusUpdate `r` or HotStandbyFeedback `h` with random fields. */
function feedback(f: Fuzz): Uint8Array {
  const lsn = () => concat(be32(f.u32()), be32(f.u32()));
  if (f.chance(0.7)) {
    // 'r', written, flushed, applied, clock, reply requested
    return concat(Uint8Array.of(0x72), lsn(), lsn(), lsn(), lsn(), Uint8Array.of(f.int(3)));
  }
  // 'h', clock, xmin, epoch, catalog xmin, epoch
  return concat(Uint8Array.of(0x68), lsn(), be32(f.u32()), be32(f.u32()), be32(f.u32()));
}

function streamingInput(f: Fuzz): Uint8Array {
  switch (f.int(6)) {
    case 0:
      return encodeAll([{ type: "CopyData", data: f.bytes(f.int(48)) }]);
    case 1:
      return encodeAll([{ type: "CopyData", data: feedback(f) }]);
    case 2: { // a status update with flipped bits or cut short
      const bytes = encodeAll([{ type: "CopyData", data: feedback(f) }]);
      return f.chance(0.5) ? f.flipBits(bytes) : bytes.subarray(0, f.int(bytes.length));
    }
    case 3:
      return concat(Uint8Array.of(f.int(256)), be32(f.u32()), f.bytes(f.int(32)));
    case 4:
      return encodeAll([f.pick<FrontendMessage>([
        { type: "CopyDone" },
        { type: "Terminate" },
        { type: "CopyFail", message: "fuzz" },
        q("IDENTIFY_SYSTEM"),
        { type: "Sync" },
      ])]);
    default: // several status updates at once
      return encodeAll(
        Array.from({ length: 1 + f.int(4) }, () => ({
          type: "CopyData" as const,
          data: feedback(f),
        })),
      );
  }
}

/** Input `index` of the run seeded with `seed`. */
export function publisherInput(seed: number, index: number): PublisherInput {
  const f = Fuzz.forInput(seed, index);
  const r = f.next();
  if (r < 0.4) return { phase: "startup", bytes: startupInput(f) };
  if (r < 0.55) return { phase: "password", answer: passwordAnswer(f) };
  if (r < 0.9) return { phase: "ready", bytes: readyInput(f) };
  return { phase: "streaming", bytes: streamingInput(f) };
}
