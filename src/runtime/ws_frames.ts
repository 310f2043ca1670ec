/**
 * WebSocket frame boundaries in one direction of a relayed connection, followed from the
 * frame headers alone (RFC 6455 §5.2): the relay never looks at payloads. It tells where a
 * frame ends, so a close frame can be slipped in between two frames, and how large the
 * current message is, so one over the limit is refused as soon as its header says so.
 */

/** Close code for a message larger than the endpoint takes (RFC 6455 §7.4.1). */
export const MESSAGE_TOO_BIG = 1009;

export class FrameCursor {
  /** Header bytes of the frame being read (at most 14: 2 + 8 length + 4 mask). */
  readonly #header = new Uint8Array(14);
  #headerHave = 0;
  #payloadLeft = 0;
  /** Payload bytes of the current (possibly fragmented) data message so far. */
  #messageBytes = 0;
  #sawClose = false;
  readonly #maxMessage: number;

  constructor(maxMessage = Number.MAX_SAFE_INTEGER) {
    this.#maxMessage = maxMessage;
  }

  /** Whether a close frame's header has been followed. */
  get sawClose(): boolean {
    return this.#sawClose;
  }

  /** Whether the bytes fed so far end exactly at a frame boundary. */
  get atBoundary(): boolean {
    return this.#headerHave === 0 && this.#payloadLeft === 0;
  }

  /**
   * Follows `bytes[from..]`. With `untilBoundary`, stops right after the first frame that
   * ends in them. Returns how many bytes were followed, and whether a message grew past the
   * limit.
   */
  feed(bytes: Uint8Array, from = 0, untilBoundary = false): { followed: number; tooBig: boolean } {
    let at = from;
    let tooBig = false;
    while (at < bytes.length) {
      if (this.#payloadLeft > 0) {
        const take = Math.min(this.#payloadLeft, bytes.length - at);
        this.#payloadLeft -= take;
        at += take;
        if (this.#payloadLeft === 0 && untilBoundary) break;
        continue;
      }
      this.#header[this.#headerHave++] = bytes[at++];
      const need = headerLength(this.#header, this.#headerHave);
      if (need === undefined || this.#headerHave < need) continue;
      const length = payloadLength(this.#header);
      const opcode = this.#header[0] & 0x0f;
      this.#headerHave = 0;
      if (opcode < 8) { // data or continuation frame; control frames are not part of a message
        this.#messageBytes = opcode === 0 ? this.#messageBytes + length : length;
        if (this.#messageBytes > this.#maxMessage) tooBig = true;
      } else if (opcode === 8) this.#sawClose = true;
      this.#payloadLeft = length;
      if (length === 0 && untilBoundary) break;
    }
    return { followed: at - from, tooBig };
  }
}

/** The header's full length once its first two bytes are known. */
function headerLength(header: Uint8Array, have: number): number | undefined {
  if (have < 2) return undefined;
  const short = header[1] & 0x7f;
  const masked = (header[1] & 0x80) !== 0 ? 4 : 0;
  return 2 + (short === 126 ? 2 : short === 127 ? 8 : 0) + masked;
}

function payloadLength(header: Uint8Array): number {
  const short = header[1] & 0x7f;
  if (short < 126) return short;
  if (short === 126) return (header[2] << 8) | header[3];
  // 64-bit lengths: anything past 2^53 is far over any limit anyway.
  let length = 0;
  for (let i = 2; i < 10; i++) length = length * 256 + header[i];
  return length;
}

/** An unmasked close frame as a server sends it. */
export function closeFrame(code: number, reason: string): Uint8Array {
  const text = new TextEncoder().encode(reason).subarray(0, 123);
  const frame = new Uint8Array(4 + text.length);
  frame[0] = 0x88; // FIN + close
  frame[1] = 2 + text.length;
  frame[2] = code >> 8;
  frame[3] = code & 0xff;
  frame.set(text, 4);
  return frame;
}
