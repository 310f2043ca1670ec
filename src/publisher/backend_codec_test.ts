import { test } from "node:test";
import assert from "node:assert/strict";
import {
  type BackendMessage,
  decodeBackendMessage,
  decodeFrontendMessage,
  decodeStartupPacket,
  encodeBackendMessage,
  encodeFrontendMessage,
  type FrontendMessage,
} from "./backend_codec.ts";

/** Bytes from hex written with spaces between fields; `str()` adds a NUL-terminated string. */
function hex(...parts: string[]): Uint8Array {
  const text = parts.join("").replace(/\s+/g, "");
  return Uint8Array.from(text.match(/../g) ?? [], (pair) => parseInt(pair, 16));
}
function str(text: string): string {
  return [...new TextEncoder().encode(text)].map((b) => b.toString(16).padStart(2, "0")).join("") +
    "00";
}

const STARTUP: Array<[string, Uint8Array, FrontendMessage]> = [
  ["SSLRequest", hex("00000008", "04d2162f"), { tag: "ssl_request" }],
  ["GSSENCRequest", hex("00000008", "04d21630"), { tag: "gssenc_request" }],
  [
    "CancelRequest",
    hex("00000010", "04d2162e", "00003039", "7fffffff"),
    { tag: "cancel_request", processId: 12345, secretKey: 0x7fffffff },
  ],
  [
    "StartupMessage",
    hex(
      "0000003a",
      "00030000",
      str("replication"),
      str("database"),
      str("application_name"),
      str("postgres_1"),
      "00",
    ),
    {
      tag: "startup_message",
      protocolVersion: 196608,
      parameters: { replication: "database", application_name: "postgres_1" },
    },
  ],
];

for (const [name, bytes, message] of STARTUP) {
  test(`frontend ${name}: decodes from and encodes to the exact bytes`, () => {
    assert.deepEqual(decodeStartupPacket(bytes), {
      kind: "message",
      message,
      consumed: bytes.length,
    });
    assert.deepEqual(encodeFrontendMessage(message), bytes);
  });
}

const TAGGED: Array<[string, Uint8Array, FrontendMessage]> = [
  ["Q Query", hex("51", "0000000e", str("BEGIN;;;;")), { tag: "query", sql: "BEGIN;;;;" }],
  ["X Terminate", hex("58", "00000004"), { tag: "terminate" }],
  ["d CopyData", hex("64", "00000006", "72ff"), { tag: "copy_data", data: hex("72ff") }],
  ["c CopyDone", hex("63", "00000004"), { tag: "copy_done" }],
  ["f CopyFail", hex("66", "00000007", str("no")), { tag: "copy_fail", message: "no" }],
  ["S Sync (other)", hex("53", "00000004"), { tag: "other", type: "S", body: new Uint8Array() }],
];

for (const [name, bytes, message] of TAGGED) {
  test(`frontend ${name}: decodes from and encodes to the exact bytes`, () => {
    assert.deepEqual(decodeFrontendMessage(bytes), {
      kind: "message",
      message,
      consumed: bytes.length,
    });
    assert.deepEqual(encodeFrontendMessage(message), bytes);
  });
}

test("frontend: partial input asks for more; bad lengths and layouts are error values", () => {
  assert.deepEqual(decodeStartupPacket(hex("0000")), { kind: "incomplete" });
  assert.deepEqual(decodeStartupPacket(hex("00000010", "04d2")), { kind: "incomplete" });
  assert.deepEqual(decodeFrontendMessage(hex("51", "000000")), { kind: "incomplete" });
  assert.deepEqual(decodeFrontendMessage(hex("51", "00000008", "4142")), { kind: "incomplete" });
  const cases = [
    decodeStartupPacket(hex("00000004", "00000000")), // shorter than its own header
    decodeStartupPacket(hex("0000000c", "04d2162f", "00000000")), // SSLRequest with a body
    decodeStartupPacket(hex("0000000c", "00030000", "41424344")), // unterminated parameter
    decodeStartupPacket(hex("00000009", "00030000", "00", "00")), // ok length, but check below
    decodeFrontendMessage(hex("51", "00000003")),
    decodeFrontendMessage(hex("51", "00000006", "4142")), // query without its NUL
    decodeFrontendMessage(hex("58", "00000005", "00")), // Terminate with a body
  ];
  // The fourth is a valid empty StartupMessage followed by a stray byte: it decodes.
  assert.equal(cases[3].kind, "message");
  for (const [i, result] of cases.entries()) {
    if (i === 3) continue;
    assert.equal(result.kind, "error", `case ${i}`);
    assert.equal(result.kind === "error" && result.error.code, "MALFORMED_MESSAGE");
  }
  const tooLong = decodeStartupPacket(hex("00100000", "00030000"));
  assert.equal(tooLong.kind === "error" && tooLong.error.code, "MESSAGE_TOO_LONG");
  const huge = decodeFrontendMessage(hex("64", "7fffffff"));
  assert.equal(huge.kind === "error" && huge.error.code, "MESSAGE_TOO_LONG");
});

test("frontend: messages are consumed one at a time from a buffer holding several", () => {
  const bytes = hex("58", "00000004", "63", "00000004");
  const first = decodeFrontendMessage(bytes);
  assert.equal(first.kind === "message" && first.consumed, 5);
  assert.deepEqual(decodeFrontendMessage(bytes.subarray(5)), {
    kind: "message",
    message: { tag: "copy_done" },
    consumed: 5,
  });
});

const BACKEND: Array<[string, Uint8Array, BackendMessage]> = [
  ["R AuthenticationOk", hex("52", "00000008", "00000000"), { tag: "authentication_ok" }],
  [
    "S ParameterStatus",
    hex("53", "00000015", str("TimeZone"), str("Etc/UTC")),
    { tag: "parameter_status", name: "TimeZone", value: "Etc/UTC" },
  ],
  [
    "K BackendKeyData",
    hex("4b", "0000000c", "000004d2", "0000162e"),
    { tag: "backend_key_data", processId: 1234, secretKey: 5678 },
  ],
  ["Z ReadyForQuery", hex("5a", "00000005", "49"), { tag: "ready_for_query", status: "I" }],
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
      tag: "row_description",
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
    "D DataRow",
    hex("44", "00000015", "0003", "00000002 3432", "ffffffff", "00000001 66"),
    { tag: "data_row", values: ["42", null, "f"] },
  ],
  [
    "C CommandComplete",
    hex("43", "0000000d", str("SELECT 3")),
    { tag: "command_complete", command: "SELECT 3" },
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
    { tag: "error_response", fields: { severity: "FATAL", code: "08004", message: "no" } },
  ],
  [
    "W CopyBothResponse",
    hex("57", "00000007", "00", "0000"),
    { tag: "copy_both_response", format: 0, columnFormats: [] },
  ],
  ["d CopyData", hex("64", "00000007", "6b0102"), { tag: "copy_data", data: hex("6b0102") }],
  ["c CopyDone", hex("63", "00000004"), { tag: "copy_done" }],
];

for (const [name, bytes, message] of BACKEND) {
  test(`backend ${name}: encodes to and decodes from the exact bytes`, () => {
    assert.deepEqual(encodeBackendMessage(message), bytes);
    assert.deepEqual(decodeBackendMessage(bytes), {
      kind: "message",
      message,
      consumed: bytes.length,
    });
  });
}

test("backend N: the single byte refusing SSL and GSS encryption", () => {
  const message: BackendMessage = { tag: "encryption_response", accepted: false };
  assert.deepEqual(encodeBackendMessage(message), hex("4e"));
  assert.deepEqual(decodeBackendMessage(hex("4e"), { expectEncryptionResponse: true }), {
    kind: "message",
    message,
    consumed: 1,
  });
});
