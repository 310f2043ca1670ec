/**
 * The inputs of `proxy_fuzz_test.ts`, drawn per index from a seed: start-up packets (random
 * bytes and lengths, encryption and cancel requests, StartupMessages with random versions and
 * parameters), answers to the MD5 challenge, and session messages (random type bytes and
 * lengths, known messages with random bodies or SQL, valid units with flipped bits or cut
 * short).
 */
import { encodeFrontend, type FrontendMessage, md5PasswordResponse } from "../../src/pgwire/mod.ts";
import { be32, concat, Fuzz, utf8 } from "../helpers/fuzz.ts";
import {
  cancelRequest,
  encryptionRequests,
  startupFraming,
  startupPacket,
  tagged,
} from "../helpers/pg_fuzz.ts";

/** PG_PROXY_PASSWORD of the service under test. */
export const PASSWORD = "proxy_password";
/** The proxy's limit on a client message; longer ones are refused at once. */
export const MAX_MESSAGE = 256 * 1024 * 1024;

/** Bytes to send; `answered`: a complete first packet, which the proxy must answer. */
export interface StartupInput {
  phase: "startup";
  bytes: Uint8Array;
  answered: boolean;
}

/** A StartupMessage without password, then `answer(salt)` to the MD5 challenge. */
export interface AuthInput {
  phase: "auth";
  user: string;
  answer: (salt: Uint8Array) => Uint8Array;
}

export interface SessionInput {
  phase: "session";
  bytes: Uint8Array;
}

export type Input = StartupInput | AuthInput | SessionInput;

/** Words, punctuation and whole statements that random SQL is strung from. */
const SQL_TOKENS = [
  ..."SELECT 1 * FROM items fz WHERE id = 'x' ( ) , ; BEGIN COMMIT ROLLBACK".split(" "),
  ..."DROP ELECTRIC ASSIGN GRANT INDEX ON text int4 NULL TYPE RENAME TO".split(" "),
  ..."$$ $1 -- /* */ \" ' E'\\".split(" "),
  "CREATE TABLE",
  "IF NOT EXISTS",
  "ALTER TABLE",
  "ADD COLUMN",
  "ENABLE ELECTRIC",
  "DISABLE ELECTRIC",
  "PRIMARY KEY",
  "AS ENUM",
  "CALL electric.electrify('fz')",
  "CALL electric.migration_version('20300101')",
  "INSERT INTO items VALUES ('k', 'v') ON CONFLICT DO NOTHING",
  "DO $$ BEGIN END $$",
  "SAVEPOINT s",
  "RELEASE s",
  "PREPARE p AS SELECT 1",
  "EXECUTE p",
  "DEALLOCATE p",
  "\u00e9",
  "\u{1F600}",
  "\0",
];

function randomSql(f: Fuzz): string {
  if (f.chance(0.1)) return f.text(f.int(40));
  return Array.from({ length: 1 + f.int(8) }, () => f.pick(SQL_TOKENS)).join(f.pick([" ", ""]));
}

export const q = (sql: string): FrontendMessage => ({ type: "Query", sql });
export const sync: FrontendMessage = { type: "Sync" };

/** Valid units, the raw material for flipped bits and truncation. */
const VALID_UNITS: FrontendMessage[][] = [
  [q("SELECT 1")],
  [q("SELECT * FROM items WHERE id = 'a'")],
  [q("BEGIN; SELECT 1; COMMIT")],
  [q("CREATE TABLE IF NOT EXISTS fz (id text PRIMARY KEY, v text)")],
  [q("ALTER TABLE fz ENABLE ELECTRIC")],
  [q("ALTER TABLE items ADD COLUMN IF NOT EXISTS extra text")],
  [q("BEGIN"), q("CALL electric.migration_version('20300102')"), q("COMMIT")],
  [
    { type: "Parse", name: "", sql: "SELECT $1::text", paramTypes: [25] },
    {
      type: "Bind",
      portal: "",
      statement: "",
      paramFormats: [0],
      params: [utf8("x")],
      resultFormats: [0],
    },
    { type: "Describe", kind: "P", name: "" },
    { type: "Execute", portal: "", maxRows: 0 },
    sync,
  ],
  [
    {
      type: "Parse",
      name: "s1",
      sql: "INSERT INTO items VALUES ($1, $2) ON CONFLICT DO NOTHING",
      paramTypes: [],
    },
    { type: "Describe", kind: "S", name: "s1" },
    sync,
    {
      type: "Bind",
      portal: "p1",
      statement: "s1",
      paramFormats: [],
      params: [utf8("k1"), null],
      resultFormats: [],
    },
    { type: "Execute", portal: "p1", maxRows: 1 },
    { type: "Close", kind: "S", name: "s1" },
    sync,
  ],
  [
    { type: "Parse", name: "", sql: "ALTER TABLE fz ADD COLUMN n int4", paramTypes: [] },
    {
      type: "Bind",
      portal: "",
      statement: "",
      paramFormats: [],
      params: [],
      resultFormats: [],
    },
    { type: "Execute", portal: "", maxRows: 0 },
    { type: "Flush" },
    sync,
  ],
];

const encodeUnit = (unit: FrontendMessage[]) => concat(...unit.map(encodeFrontend));
const VALID_BYTES = VALID_UNITS.map(encodeUnit);
/** Tags the proxy knows: Q P B E D C S H X d c f p F. */
const KNOWN_TAGS = [..."QPBEDCSHXdcfpF"].map((c) => c.charCodeAt(0));

function randomMessage(f: Fuzz): FrontendMessage {
  const sqlText = randomSql(f);
  switch (f.int(9)) {
    case 0:
      return q(sqlText);
    case 1:
      return { type: "Parse", name: f.pick(["", "s1", "s2"]), sql: sqlText, paramTypes: [] };
    case 2:
      return {
        type: "Bind",
        portal: f.pick(["", "p1"]),
        statement: f.pick(["", "s1", "s2"]),
        paramFormats: Array.from({ length: f.int(3) }, () => f.int(3)),
        params: Array.from({ length: f.int(3) }, () => f.chance(0.2) ? null : f.bytes(f.int(8))),
        resultFormats: Array.from({ length: f.int(3) }, () => f.int(3)),
      };
    case 3:
      return { type: "Execute", portal: f.pick(["", "p1"]), maxRows: f.int(3) };
    case 4:
      return { type: "Describe", kind: f.pick(["S", "P"] as const), name: f.pick(["", "s1"]) };
    case 5:
      return { type: "Close", kind: f.pick(["S", "P"] as const), name: f.pick(["", "s1", "p1"]) };
    case 6:
      return { type: "FunctionCall", body: f.bytes(f.int(24)) };
    case 7:
      return { type: "CopyData", data: f.bytes(f.int(16)) };
    default:
      return f.pick([sync, { type: "Flush" }, { type: "CopyDone" }] as FrontendMessage[]);
  }
}

function sessionInput(f: Fuzz): Uint8Array {
  switch (f.int(7)) {
    case 0: // a random type byte, a random (often wrong) length, random bytes
      return concat(Uint8Array.of(f.int(256)), be32(f.u32()), f.bytes(f.int(48)));
    case 1: { // a known type byte with a random body, framed right
      return tagged(f.pick(KNOWN_TAGS), f.bytes(f.int(48)));
    }
    case 2: { // a known type byte whose length is off by a little
      const body = f.bytes(f.int(32));
      return tagged(f.pick(KNOWN_TAGS), body, body.length + 4 + f.pick([-5, -4, -3, -1, 1, 2]));
    }
    case 3: // random SQL, as a Query or a Parse…Sync unit
      return encodeUnit(Array.from({ length: 1 + f.int(4) }, () => randomMessage(f)));
    case 4: // a valid unit with flipped bits
      return f.flipBits(f.pick(VALID_BYTES));
    case 5: { // a valid unit cut short
      const unit = f.pick(VALID_BYTES);
      return unit.subarray(0, f.int(unit.length));
    }
    default: // valid messages in a random order
      return encodeUnit(
        Array.from({ length: 1 + f.int(4) }, () => f.pick(f.pick(VALID_UNITS))),
      );
  }
}

function startupMessage(f: Fuzz): Uint8Array {
  const params: [string, string | Uint8Array][] = [];
  if (f.chance(0.9)) params.push(["user", f.pick(["postgres", "electric", "", f.text(f.int(12))])]);
  if (f.chance(0.8)) params.push(["database", f.pick(["electric", "postgres", f.text(12)])]);
  if (f.chance(0.7)) {
    params.push(["password", f.pick([PASSWORD, "wrong", "", PASSWORD + "x", f.text(12)])]);
  }
  for (let n = f.int(4); n > 0; n--) {
    const name = f.pick(["application_name", "options", "client_encoding", "replication", ""]);
    params.push([
      name || f.text(f.int(8)),
      f.chance(0.3) ? f.bytes(f.int(10)) : f.text(f.int(16)),
    ]);
  }
  return startupPacket(f, params);
}

function startupInput(f: Fuzz): Uint8Array {
  switch (f.int(8)) {
    case 0:
      return f.bytes(f.int(48));
    case 1:
      return concat(be32(f.u32()), f.bytes(f.int(40)));
    case 2:
    case 3: // SSLRequest or GSSENCRequest, maybe twice, then maybe a StartupMessage
      return concat(encryptionRequests(f), f.chance(0.5) ? startupMessage(f) : new Uint8Array());
    case 4:
      return cancelRequest(f);
    case 5:
      return f.flipBits(startupMessage(f));
    default:
      return startupMessage(f);
  }
}

function authAnswer(f: Fuzz, user: string): (salt: Uint8Array) => Uint8Array {
  const kind = f.int(8);
  const noise = f.bytes(f.int(40));
  const text = f.text(f.int(40));
  const flipped = f.int(1 << 30);
  return (salt) => {
    const right = md5PasswordResponse(user, PASSWORD, salt);
    const password = (body: Uint8Array) => tagged(0x70, body); // 'p'
    switch (kind) {
      case 0:
        return password(concat(utf8(right), Uint8Array.of(0)));
      case 1: // no terminating NUL
        return password(utf8(right));
      case 2:
        return password(concat(utf8(right.toUpperCase()), Uint8Array.of(0)));
      case 3:
        return password(concat(utf8(md5PasswordResponse(user, "wrong", salt)), Uint8Array.of(0)));
      case 4: // cleartext
        return password(concat(utf8(PASSWORD), Uint8Array.of(0)));
      case 5:
        return password(concat(utf8(text), Uint8Array.of(0)));
      case 6: // another message, or bytes
        return f.chance(0.5) ? encodeFrontend(q("SELECT 1")) : noise;
      default:
        return new Fuzz(flipped).flipBits(password(concat(utf8(right), Uint8Array.of(0))));
    }
  };
}

/** Input `index` of the run seeded with `seed`. */
export function proxyInput(seed: number, index: number): Input {
  const f = Fuzz.forInput(seed, index);
  const r = f.next();
  if (r < 0.35) {
    const bytes = startupInput(f);
    return { phase: "startup", bytes, answered: startupFraming(bytes) !== "incomplete" };
  }
  if (r < 0.5) {
    const user = f.pick(["postgres", "electric", "u\u00e9"]);
    return { phase: "auth", user, answer: authAnswer(f, user) };
  }
  return { phase: "session", bytes: sessionInput(f) };
}
