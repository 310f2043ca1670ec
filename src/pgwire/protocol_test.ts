import { test } from "node:test";
import assert from "node:assert/strict";
import {
  type BackendMessage,
  decodeBackend,
  decodeFrontend,
  encodeBackend,
  encodeFrontend,
  encodeStartup,
  errorResponse,
  type FrontendMessage,
  PROTOCOL_3_0,
  readFrame,
  readStartupPacket,
  textDataRow,
} from "./protocol.ts";
import {
  md5PasswordResponse,
  md5ResponseMatches,
  scramClientFinal,
  scramClientFirst,
  scramVerifyServerFinal,
} from "./password_auth.ts";
import { createHash, createHmac, pbkdf2Sync } from "node:crypto";
import { Buffer } from "node:buffer";

function frameOf(bytes: Uint8Array) {
  const read = readFrame(bytes, 0, 1 << 20);
  assert.equal(read.kind, "frame");
  if (read.kind !== "frame") throw new Error("unreachable");
  assert.equal(read.consumed, bytes.length);
  return read.frame;
}

test("frontend messages round-trip byte for byte", () => {
  const messages: FrontendMessage[] = [
    { type: "Query", sql: "SELECT 'é'" },
    { type: "Parse", name: "s1", sql: "SELECT $1", paramTypes: [23] },
    {
      type: "Bind",
      portal: "",
      statement: "s1",
      paramFormats: [1],
      params: [new Uint8Array([0, 0, 0, 7]), null],
      resultFormats: [0],
    },
    { type: "Execute", portal: "", maxRows: 0 },
    { type: "Describe", kind: "S", name: "s1" },
    { type: "Close", kind: "P", name: "p" },
    { type: "Sync" },
    { type: "Flush" },
    { type: "Terminate" },
    { type: "CopyData", data: new Uint8Array([1, 2]) },
    { type: "CopyDone" },
    { type: "CopyFail", message: "no" },
  ];
  for (const message of messages) {
    const bytes = encodeFrontend(message);
    const decoded = decodeFrontend(frameOf(bytes));
    assert.ok(decoded.ok);
    assert.deepEqual(encodeFrontend(decoded.message), bytes);
  }
});

test("backend messages round-trip byte for byte", () => {
  const messages: BackendMessage[] = [
    { type: "Authentication", code: 5, data: new Uint8Array([1, 2, 3, 4]) },
    { type: "ParameterStatus", name: "server_version", value: "15.1" },
    { type: "BackendKeyData", processId: 42, secretKey: -7 },
    { type: "ReadyForQuery", status: "T" },
    { type: "ErrorResponse", fields: { S: "ERROR", C: "EX010", M: "no" } },
    { type: "CommandComplete", tag: "ELECTRIC ENABLE" },
    { type: "ParameterDescription", types: [] },
    { type: "DataRow", values: [new Uint8Array([65]), null] },
    { type: "NotificationResponse", processId: 1, channel: "c", payload: "p" },
    { type: "NoData" },
  ];
  for (const message of messages) {
    const bytes = encodeBackend(message);
    const decoded = decodeBackend(frameOf(bytes));
    assert.ok(decoded.ok);
    assert.deepEqual(encodeBackend(decoded.message), bytes);
  }
});

test("start-up packets: SSLRequest, cancel, parameters; bad ones are coded errors", () => {
  const ssl = readStartupPacket(encodeStartup({ type: "SSLRequest" }));
  assert.equal(ssl.kind === "packet" && ssl.packet.type, "SSLRequest");
  const startup = encodeStartup({
    type: "StartupMessage",
    protocolVersion: PROTOCOL_3_0,
    parameters: { user: "u", database: "d" },
  });
  const read = readStartupPacket(startup);
  assert.ok(read.kind === "packet" && read.packet.type === "StartupMessage");
  assert.deepEqual(read.packet.parameters, { user: "u", database: "d" });
  assert.equal(readStartupPacket(startup.subarray(0, 10)).kind, "incomplete");
  const huge = readStartupPacket(new Uint8Array([0x7f, 0, 0, 0, 0, 3, 0, 0]));
  assert.ok(huge.kind === "error" && huge.error.code === "MESSAGE_TOO_LONG");
  const v2 = readStartupPacket(new Uint8Array([0, 0, 0, 8, 0, 2, 0, 0]));
  assert.equal(v2.kind, "error");
});

test("framing: short lengths are errors, partial frames incomplete", () => {
  assert.equal(readFrame(new Uint8Array([0x51, 0, 0, 0, 2]), 0, 100).kind, "error");
  assert.equal(readFrame(new Uint8Array([0x51, 0, 0, 0, 9, 0]), 0, 100).kind, "incomplete");
  const tooLong = readFrame(new Uint8Array([0x51, 0, 0, 1, 0]), 0, 100);
  assert.ok(tooLong.kind === "error" && tooLong.error.code === "MESSAGE_TOO_LONG");
  const cut = decodeFrontend(frameOf(new Uint8Array([0x42, 0, 0, 0, 6, 0, 0])));
  assert.equal(cut.ok, false);
});

test("MD5 responses match Postgres's construction", () => {
  const salt = new Uint8Array([1, 2, 3, 4]);
  const inner = createHash("md5").update("secretpostgres").digest("hex");
  const expected = "md5" +
    createHash("md5").update(Buffer.concat([Buffer.from(inner), Buffer.from(salt)])).digest("hex");
  assert.equal(md5PasswordResponse("postgres", "secret", salt), expected);
  assert.ok(md5ResponseMatches(expected, { user: "postgres", password: "secret", salt }));
  assert.ok(!md5ResponseMatches(expected, { user: "postgres", password: "other", salt }));
  assert.ok(!md5ResponseMatches("plain", { user: "postgres", password: "secret", salt }));
});

test("SCRAM-SHA-256 client proof verifies against a server computed independently", () => {
  const password = "pencil";
  const salt = Buffer.from("salt-bytes-16...");
  const iterations = 4096;
  const { state, message } = scramClientFirst(password, "clientnonce");
  assert.equal(new TextDecoder().decode(message), "n,,n=,r=clientnonce");
  const serverFirst = `r=clientnonceSERVER,s=${salt.toString("base64")},i=${iterations}`;
  const final = scramClientFinal(state, new TextEncoder().encode(serverFirst));
  assert.ok(final.ok);
  const text = new TextDecoder().decode(final.value.message);
  const proof = Buffer.from(/p=(.*)$/.exec(text)![1], "base64");
  const salted = pbkdf2Sync(password, salt, iterations, 32, "sha256");
  const clientKey = createHmac("sha256", salted).update("Client Key").digest();
  const storedKey = createHash("sha256").update(clientKey).digest();
  const authMessage = `n=,r=clientnonce,${serverFirst},c=biws,r=clientnonceSERVER`;
  const signature = createHmac("sha256", storedKey).update(authMessage).digest();
  const recovered = Buffer.from(proof.map((b, i) => b ^ signature[i]));
  assert.deepEqual(createHash("sha256").update(recovered).digest(), storedKey);
  const serverKey = createHmac("sha256", salted).update("Server Key").digest();
  const serverSig = createHmac("sha256", serverKey).update(authMessage).digest("base64");
  assert.ok(
    scramVerifyServerFinal(new TextEncoder().encode(`v=${serverSig}`), final.value.serverSignature),
  );
  const bad = scramClientFinal(state, new TextEncoder().encode("r=othernonce,s=AA==,i=1"));
  assert.equal(bad.ok, false);
});

/** Bytes from hex written with spaces between fields; `str()` adds a NUL-terminated string. */
function hex(...parts: string[]): Uint8Array {
  const text = parts.join("").replace(/\s+/g, "");
  return Uint8Array.from(text.match(/../g) ?? [], (pair) => parseInt(pair, 16));
}
function str(text: string): string {
  return [...new TextEncoder().encode(text)].map((b) => b.toString(16).padStart(2, "0")).join("") +
    "00";
}

// What a walsender sends its subscriber, byte for byte (the logical publisher plays one).
const SERVER_BYTES: Array<[string, Uint8Array, BackendMessage]> = [
  [
    "R AuthenticationMD5Password",
    hex("52", "0000000c", "00000005", "01020304"),
    { type: "Authentication", code: 5, data: hex("01020304") },
  ],
  [
    "T RowDescription",
    hex(
      "54",
      "00000030",
      "0002",
      str("oid"),
      "00000000 0000 0000001a 0004 ffffffff 0000",
      str("t"),
      "00000000 0000 00000012 0001 ffffffff 0000",
    ),
    {
      type: "RowDescription",
      fields: [
        {
          name: "oid",
          tableOid: 0,
          columnNumber: 0,
          typeOid: 26,
          typeSize: 4,
          typeModifier: -1,
          format: 0,
        },
        {
          name: "t",
          tableOid: 0,
          columnNumber: 0,
          typeOid: 18,
          typeSize: 1,
          typeModifier: -1,
          format: 0,
        },
      ],
    },
  ],
  [
    "D DataRow of text",
    hex("44", "00000015", "0003", "00000002 3432", "ffffffff", "00000001 66"),
    textDataRow(["42", null, "f"]),
  ],
  [
    "E ErrorResponse",
    hex(
      "45",
      "0000001e",
      "53",
      str("FATAL"),
      "56",
      str("FATAL"),
      "43",
      str("08004"),
      "4d",
      str("no"),
      "00",
    ),
    errorResponse("FATAL", "08004", "no"),
  ],
  [
    "W CopyBothResponse",
    hex("57", "00000007", "00", "0000"),
    { type: "CopyBothResponse", format: 0, columnFormats: [] },
  ],
  ["d CopyData", hex("64", "00000007", "6b0102"), { type: "CopyData", data: hex("6b0102") }],
  ["c CopyDone", hex("63", "00000004"), { type: "CopyDone" }],
];

for (const [name, bytes, message] of SERVER_BYTES) {
  test(`backend ${name}: encodes to and decodes from the exact bytes`, () => {
    assert.deepEqual(encodeBackend(message), bytes);
    const decoded = decodeBackend(frameOf(bytes));
    assert.ok(decoded.ok);
    assert.deepEqual(encodeBackend(decoded.message), bytes);
  });
}
