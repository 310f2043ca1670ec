/**
 * Postgres wire pieces shared by the proxy and publisher fuzz tests: start-up packets with
 * random versions and lengths, encryption and cancel requests, tagged messages with any
 * length, how an input is framed (what answer it must get), reading a server's answers off a
 * `RawPeer` (each ErrorResponse must carry a SQLSTATE), and the steps both tests take on a
 * connection: an input answered then closed, the MD5 challenge, the first ReadyForQuery, and
 * why a session closed.
 */
import assert from "node:assert/strict";
import {
  type BackendMessage,
  CANCEL_REQUEST_CODE,
  decodeBackend,
  GSSENC_REQUEST_CODE,
  MAX_STARTUP_LENGTH,
  PROTOCOL_3_0,
  readFrame,
  SSL_REQUEST_CODE,
} from "../../src/pgwire/mod.ts";
import { ANSWER_MS, be32, concat, type Fuzz, hex, type RawPeer, utf8 } from "./fuzz.ts";

const NUL = Uint8Array.of(0);

/** A tagged message; `length` defaults to the right one. */
export function tagged(tag: number, body: Uint8Array, length = body.length + 4): Uint8Array {
  return concat(Uint8Array.of(tag), be32(length), body);
}

/**
 * A StartupMessage with these parameters, usually protocol 3.0 and well framed; sometimes
 * another version, a length off by a little, or no final NUL.
 */
export function startupPacket(f: Fuzz, parameters: [string, string | Uint8Array][]): Uint8Array {
  const version = f.chance(0.65)
    ? PROTOCOL_3_0
    : f.pick([PROTOCOL_3_0 + 1, (3 << 16) | 0xffff, 2 << 16, 4 << 16, 1234 << 16, f.u32()]);
  const body = concat(
    ...parameters.flatMap(([name, value]) => [
      utf8(name),
      NUL,
      typeof value === "string" ? utf8(value) : value,
      NUL,
    ]),
    f.chance(0.9) ? NUL : new Uint8Array(),
  );
  const length = 8 + body.length + (f.chance(0.85) ? 0 : f.pick([-9, -3, -1, 1, 3, 64]));
  return concat(be32(length), be32(version), body);
}

/** One or two SSLRequest / GSSENCRequest packets. */
export function encryptionRequests(f: Fuzz): Uint8Array {
  const request = () => concat(be32(8), be32(f.pick([SSL_REQUEST_CODE, GSSENC_REQUEST_CODE])));
  return f.chance(0.3) ? concat(request(), request()) : request();
}

/** A CancelRequest with a random key, sometimes of the wrong size. */
export function cancelRequest(f: Fuzz): Uint8Array {
  const length = f.chance(0.8) ? 16 : f.pick([8, 12, 15, 17, 20]);
  const body = concat(be32(CANCEL_REQUEST_CODE), be32(f.u32()), be32(f.u32()));
  const padded = concat(body, new Uint8Array(Math.max(0, length - 4 - body.length)));
  return concat(be32(length), padded.subarray(0, length - 4));
}

/** The first start-up packet: complete, ending early, or invalid on its length alone. */
export function startupFraming(bytes: Uint8Array): "complete" | "incomplete" | "invalid" {
  if (bytes.length < 4) return "incomplete";
  const length = new DataView(bytes.buffer, bytes.byteOffset).getUint32(0);
  if (length < 8 || length > MAX_STARTUP_LENGTH) return "invalid";
  return bytes.length < length ? "incomplete" : "complete";
}

export function isCancelRequest(bytes: Uint8Array): boolean {
  return bytes.length >= 8 &&
    new DataView(bytes.buffer, bytes.byteOffset).getUint32(4) === CANCEL_REQUEST_CODE;
}

/** How many encryption requests `bytes` starts with (each answered by a lone `N`). */
export function leadingEncryptionRequests(bytes: Uint8Array): number {
  let n = 0;
  for (let at = 0; at + 8 <= bytes.length; at += 8) {
    const view = new DataView(bytes.buffer, bytes.byteOffset + at);
    const code = view.getUint32(4);
    if (view.getUint32(0) !== 8 || (code !== SSL_REQUEST_CODE && code !== GSSENC_REQUEST_CODE)) {
      break;
    }
    n++;
  }
  return n;
}

export interface Framing {
  /** The complete messages, in order. */
  frames: { tag: number; body: Uint8Array }[];
  /** How the input ends: after a whole message, inside one, or with a length no server takes. */
  end: "complete" | "incomplete" | "invalid";
}

/** Cuts tagged messages (a server refuses any longer than `max` at once). */
export function framing(bytes: Uint8Array, max: number): Framing {
  const frames: Framing["frames"] = [];
  let offset = 0;
  for (;;) {
    if (offset === bytes.length) return { frames, end: "complete" };
    const read = readFrame(bytes, offset, max);
    if (read.kind === "incomplete") return { frames, end: "incomplete" };
    if (read.kind === "error") return { frames, end: "invalid" };
    frames.push({ tag: read.frame.tag, body: read.frame.body });
    offset += read.consumed;
  }
}

/** Backend messages cut off the front of what a peer received (`declines` lone `N` first). */
export function takeMessages(peer: RawPeer, declines = 0): BackendMessage[] {
  const out: BackendMessage[] = [];
  for (let skipped = 0; skipped < declines && peer.received[0] === 0x4e; skipped++) {
    peer.take(1); // 'N': encryption declined
    out.push({ type: "Other", tag: "decline", body: new Uint8Array() });
  }
  for (;;) {
    const buf = peer.received;
    const read = readFrame(buf, 0, 1 << 30);
    if (read.kind === "incomplete") return out;
    if (read.kind === "error") throw new Error(`Unreadable answer: ${hex(buf)}`);
    const decoded = decodeBackend(read.frame);
    if (!decoded.ok) throw new Error(`Undecodable answer: ${hex(read.frame.raw)}`);
    peer.take(read.consumed);
    out.push(decoded.message);
  }
}

/** The SQLSTATEs of the ErrorResponses among `messages` (each must have one). */
export function errorCodes(messages: BackendMessage[]): string[] {
  const codes: string[] = [];
  for (const message of messages) {
    if (message.type !== "ErrorResponse") continue;
    const code = message.fields.C;
    assert.match(code ?? "", /^[0-9A-Z]{5}$/, `an ErrorResponse without a SQLSTATE: ${code}`);
    codes.push(code);
  }
  return codes;
}

/** A short name for an answer: its first message and first error, e.g. `N E28P01`. */
export function describeAnswer(messages: BackendMessage[]): string {
  const first = messages[0];
  const errors = errorCodes(messages);
  const head = first === undefined
    ? "nothing"
    : first.type === "Other" && first.tag === "decline"
    ? "N"
    : first.type === "Authentication"
    ? `R${first.code}`
    : first.type;
  return `${head}${errors.length > 0 ? ` E${errors[0]}` : ""}`;
}

/**
 * Sends `input`, waits for an answer when one is due (`answered`), ends this side and waits for
 * the close; returns what was received (`declines` lone `N` first, as takeMessages).
 */
export async function answerThenClose(
  peer: RawPeer,
  input: Uint8Array,
  options: { answered: boolean; declines?: number },
): Promise<BackendMessage[]> {
  peer.write(input);
  if (options.answered) {
    await peer.until(() => peer.received.length > 0 || peer.closed, ANSWER_MS, "answer");
  }
  peer.end();
  await peer.closes(ANSWER_MS);
  return takeMessages(peer, options.declines);
}

/** Waits for the server's first answer after a StartupMessage: an MD5 challenge; its salt. */
export async function md5Challenge(peer: RawPeer): Promise<Uint8Array> {
  const [challenge] = await peer.until(
    () => {
      const messages = takeMessages(peer);
      return messages.length > 0 ? messages : undefined;
    },
    ANSWER_MS,
    "MD5 challenge",
  );
  assert.ok(challenge.type === "Authentication" && challenge.code === 5, "MD5 challenge");
  return challenge.data;
}

/** Waits for the first ReadyForQuery of a log-in, and fails (with `what`) if it closed. */
export async function firstReadyForQuery(peer: RawPeer, what: string): Promise<void> {
  await peer.until(
    () => takeMessages(peer).some((m) => m.type === "ReadyForQuery") || peer.closed,
    ANSWER_MS,
    "the first ReadyForQuery",
  );
  assert.ok(!peer.closed, what);
}

/**
 * Why a session closed after `input`: its last ErrorResponse, else a Terminate the input
 * sent, else "nothing" (a failure: `assertClosedForCause`).
 */
export function closeCause(errors: string[], terminates: boolean): string {
  return errors.length > 0 ? `E${errors.at(-1)}` : terminates ? "Terminate" : "nothing";
}

/** Fails when a session closed for no cause (closeCause), with what it had received. */
export function assertClosedForCause(
  peer: RawPeer,
  closed: { cause: string; input: Uint8Array; messages: BackendMessage[] },
): void {
  assert.ok(
    closed.cause !== "nothing",
    `closed without an error after ${hex(closed.input)} (${
      peer.reset ? "reset" : "ended"
    }; received ${closed.messages.map((m) => m.type).join(", ") || "nothing"}; then ${
      hex(peer.received) || "no bytes"
    })`,
  );
}
