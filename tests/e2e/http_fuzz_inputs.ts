/**
 * The inputs of `http_fuzz_test.ts`, drawn per index from a seed: raw bytes; request lines
 * with random methods, targets and versions and random headers (bad names, long values,
 * conflicting lengths, chunked bodies); and WebSocket handshakes on `/ws` and `/proxy` with
 * Upgrade, Connection, Sec-WebSocket-Key, -Version and -Protocol headers missing, garbled or
 * repeated. A handshake carries its own verdict (RFC 6455 §4.2.1 plus §2.4 of the spec for
 * the Satellite subprotocol), worked out here without the service's code: the test checks the
 * service upgrades exactly those.
 */
import { Fuzz } from "../helpers/fuzz.ts";

export interface HttpInput {
  bytes: string;
  /** The request is all there: it must be answered without the end of the stream. */
  complete: boolean;
  /** A request the HTTP parser must accept, so it gets a response (not just a close). */
  wellFormed: boolean;
  /** For handshakes: whether the service must upgrade (101) or refuse it (400). */
  upgrade?: boolean;
  kind: "raw" | "request" | "handshake";
}

const METHODS = ["GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "PATCH", "TRACE"];
const ODD_METHODS = ["get", "G ET", "GET\0", "CONNECT", "PRI", "", "\u00e9", "X".repeat(300)];
const TARGETS = [
  "/api/status",
  "/api/status/",
  "/api/status/x",
  "/api/migrations?dialect=sqlite",
  "/api/migrations?dialect=mysql",
  "/api/migrations",
  "/api/migrations?dialect=sqlite&version=%ff",
  "/ws",
  "//ws",
  "/ws/x",
  "/proxy",
  "//proxy",
  "/",
  "/nope",
  "/api",
  "/%2e%2e/%2e%2e/etc/passwd",
  "/ws?x=%zz",
];
const ODD_TARGETS = ["*", "http://127.0.0.1/api/status", "", "api/status", "/\u00e9", "/a b"];
const VERSIONS = ["HTTP/1.1", "HTTP/1.0"];
const ODD_VERSIONS = ["HTTP/2.0", "HTTP/0.9", "HTTP/1.2", "http/1.1", "HTTP/1", "", "HTTP/1.1 x"];

/** Headers any server takes. */
const PLAIN_HEADERS = [
  "Host: 127.0.0.1",
  "User-Agent: fuzz",
  "Accept: */*",
  "Connection: keep-alive",
  "Connection: close",
  "Content-Type: application/json",
  "Content-Type: text/plain",
  "Cache-Control: no-cache",
  "X-Fuzz: 1",
];

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

function base64(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes));
}

function validKey(f: Fuzz): string {
  return base64(f.bytes(16));
}

/** Header lines that a strict parser may refuse (400/431) or take. */
function oddHeader(f: Fuzz): string {
  switch (f.int(12)) {
    case 0:
      return `X-Long: ${f.text(f.pick([100, 5000, 20000]), "abc")}`;
    case 1:
      return "Bad Name: x";
    case 2:
      return "NoColon";
    case 3:
      return ` folded: continuation`;
    case 4:
      return `X-Nul: a\0b`;
    case 5:
      return `Content-Length: ${f.pick(["-1", "abc", "1e3", "99999999999999999999", "0x10", ""])}`;
    case 6:
      return "Transfer-Encoding: chunked";
    case 7:
      return `Transfer-Encoding: ${f.pick(["gzip", "chunked, identity", "xchunked"])}`;
    case 8:
      return `${f.text(1 + f.int(10))}: ${f.text(f.int(20))}`;
    case 9:
      return `X-Bytes: ${String.fromCharCode(...f.bytes(8))}`;
    case 10:
      return "Expect: 100-continue";
    default:
      return `Host: ${f.pick(["", "a b", "[::1]:x", "127.0.0.1:99999"])}`;
  }
}

function rawInput(f: Fuzz): HttpInput {
  let bytes = String.fromCharCode(...f.bytes(f.int(128)));
  if (f.chance(0.3)) bytes = f.pick(METHODS) + " " + bytes;
  if (f.chance(0.5)) bytes += "\r\n\r\n";
  return { bytes, complete: false, wellFormed: false, kind: "raw" };
}

function requestInput(f: Fuzz): HttpInput {
  const oddLine = f.chance(0.25);
  const method = oddLine && f.chance(0.4) ? f.pick(ODD_METHODS) : f.pick(METHODS);
  const target = oddLine && f.chance(0.4) ? f.pick(ODD_TARGETS) : f.pick(TARGETS);
  const version = oddLine && f.chance(0.4) ? f.pick(ODD_VERSIONS) : f.pick(VERSIONS);
  const headers: string[] = f.chance(0.85) ? ["Host: 127.0.0.1"] : [];
  let odd = false;
  for (let n = f.int(6); n > 0; n--) {
    if (f.chance(0.25)) {
      headers.push(oddHeader(f));
      odd = true;
    } else headers.push(f.pick(PLAIN_HEADERS));
  }
  let body = "";
  let complete = true;
  if (f.chance(0.3)) {
    body = f.text(f.int(64));
    const declared = f.chance(0.8) ? body.length : body.length + 1 + f.int(10);
    if (f.chance(0.8)) headers.push(`Content-Length: ${declared}`);
    if (declared > body.length) complete = false;
  }
  const eol = f.chance(0.95) ? "\r\n" : "\n";
  if (eol !== "\r\n") complete = false;
  const line = f.chance(0.97) ? `${method} ${target} ${version}` : f.text(f.int(30));
  const head = [line, ...headers].join(eol) + eol + eol;
  const sane = !oddLine && !odd && line.startsWith(method) && eol === "\r\n";
  return {
    bytes: head + body,
    complete,
    wellFormed: sane && complete && (version === "HTTP/1.1" || version === "HTTP/1.0"),
    kind: "request",
  };
}

interface Offered {
  lines: string[];
  /** Values as sent (after trimming), one per header line. */
  values: string[];
}

/** A handshake header: usually right, sometimes missing, garbled or repeated. */
function offer(f: Fuzz, name: string, good: string, bad: readonly string[]): Offered {
  const roll = f.next();
  const values = roll < 0.7
    ? [good]
    : roll < 0.78
    ? []
    : roll < 0.88
    ? [f.pick(bad)]
    : [good, f.chance(0.5) ? good : f.pick(bad)];
  const spelled = f.chance(0.2) ? name.toUpperCase() : name;
  const pad = () => f.pick(["", " ", "  ", "\t"]);
  return {
    lines: values.map((value) => `${spelled}:${pad()}${value}${pad()}`),
    values: values.map((value) => value.trim()),
  };
}

const KEY_PATTERN = /^[A-Za-z0-9+/]{22}==$/;

function satelliteProtocolOk(value: string): boolean {
  const match = /^electric\.(\d+)\.(\d+)$/.exec(value);
  if (!match || value.length - "electric.".length >= 20) return false;
  const [major, minor] = [Number(match[1]), Number(match[2])];
  return major === 0 && minor >= 10 && minor <= 12;
}

function handshakeInput(f: Fuzz): HttpInput {
  const route = f.pick(["/ws", "/ws", "/ws", "//ws", "/ws/", "/proxy", "//proxy"]);
  const satellite = route.includes("ws");
  const method = f.chance(0.9) ? "GET" : f.pick(["POST", "HEAD", "get", "PUT"]);
  const upgrade = offer(f, "Upgrade", f.pick(["websocket", "WebSocket", "WEBSOCKET"]), [
    "h2c",
    "websocket2",
    "",
    "web socket",
    "websocket, h2c",
  ]);
  const connection = offer(f, "Connection", f.pick(["Upgrade", "upgrade", "keep-alive, Upgrade"]), [
    "keep-alive",
    "close",
    "",
    "Upgrade2",
    "upgrad",
  ]);
  const key = offer(f, "Sec-WebSocket-Key", validKey(f), [
    "",
    base64(f.bytes(10)),
    base64(f.bytes(20)),
    "!".repeat(22) + "==",
    f.text(24, B64),
    validKey(f).slice(0, 23),
  ]);
  const version = offer(f, "Sec-WebSocket-Version", "13", ["8", "14", "", "13.0", "abc"]);
  const protocol = offer(
    f,
    "Sec-WebSocket-Protocol",
    f.pick(["electric.0.12", "electric.0.11", "electric.0.10"]),
    [
      "electric.0.9",
      "electric.0.13",
      "electric.1.0",
      "electric.0.12, foo",
      "electric.",
      "electric.0.12.1",
      "foo",
      "electric.00000000000000000000.1",
    ],
  );
  const lines = [
    `${method} ${route} HTTP/1.1`,
    "Host: 127.0.0.1",
    ...upgrade.lines,
    ...connection.lines,
    ...key.lines,
    ...version.lines,
    ...(satellite || f.chance(0.3) ? protocol.lines : []),
  ];
  // Shuffle the header lines (the request line stays first).
  for (let i = lines.length - 1; i > 1; i--) {
    const j = 1 + f.int(i);
    [lines[i], lines[j]] = [lines[j], lines[i]];
  }
  const one = (o: Offered) => o.values.length === 1 ? o.values[0] : undefined;
  const connectionTokens = connection.values.flatMap((v) =>
    v.split(",").map((t) => t.trim().toLowerCase())
  );
  const valid = method === "GET" &&
    one(upgrade)?.toLowerCase() === "websocket" &&
    connectionTokens.includes("upgrade") &&
    one(version) === "13" &&
    KEY_PATTERN.test(one(key) ?? "") &&
    (!satellite || satelliteProtocolOk(one(protocol) ?? ""));
  return {
    bytes: lines.join("\r\n") + "\r\n\r\n",
    complete: true,
    // A lower-case method is a legal token, but Bun's parser closes the connection on it.
    wellFormed: method !== "get",
    upgrade: valid,
    kind: "handshake",
  };
}

/** Input `index` of the run seeded with `seed`. */
export function httpInput(seed: number, index: number): HttpInput {
  const f = Fuzz.forInput(seed, index);
  const r = f.next();
  if (r < 0.2) return rawInput(f);
  if (r < 0.55) return requestInput(f);
  return handshakeInput(f);
}
