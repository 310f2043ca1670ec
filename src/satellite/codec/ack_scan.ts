/**
 * A fast look at a `SatOpLogAck` frame (type byte 23): every client acknowledges every
 * transaction once it is past its first few, so a server with many clients decodes as many
 * acks as it sends transactions. This reads the one field an ordinary ack needs,
 * `transaction_id` (field 3), straight from the bytes, without building the message.
 *
 * Wire layout of the body (after the type byte): 08 ack_timestamp, 12 len lsn, 18
 * transaction_id, 22 len subscription_id (repeated), 28/2a additional_data_source_ids,
 * 32 len gone_subscription_id (repeated). Anything unusual — out-of-band ids, a field this
 * scanner does not know, a malformed byte — returns undefined: the caller decodes the frame in
 * full, which also reports errors the usual way. Pure.
 */

export const SAT_OP_LOG_ACK_TYPE = 23;

/** The acknowledged transaction id of an ordinary ack (one naming no out-of-band data). */
export function scanPlainAck(frame: Uint8Array): bigint | undefined {
  if (frame[0] !== SAT_OP_LOG_ACK_TYPE) return undefined;
  let pos = 1;
  let transactionId = 0n;
  while (pos < frame.length) {
    const tag = frame[pos++];
    switch (tag) {
      case 0x08: { // ack_timestamp, varint
        const end = skipVarint(frame, pos);
        if (end < 0) return undefined;
        pos = end;
        break;
      }
      case 0x12: { // lsn, length-delimited
        const length = readSmallVarint(frame, pos);
        if (length === undefined) return undefined;
        pos = length.next + length.value;
        if (pos > frame.length) return undefined;
        break;
      }
      case 0x18: { // transaction_id, varint (uint64)
        const value = readVarint64(frame, pos);
        if (value === undefined) return undefined;
        transactionId = value.value;
        pos = value.next;
        break;
      }
      default:
        // Subscription, additional-data and gone ids, or anything unexpected.
        return undefined;
    }
  }
  return transactionId;
}

function skipVarint(bytes: Uint8Array, pos: number): number {
  for (let i = 0; i < 10; i++) {
    if (pos >= bytes.length) return -1;
    if ((bytes[pos++] & 0x80) === 0) return pos;
  }
  return -1;
}

/** A varint below 2^28 (lengths). */
function readSmallVarint(
  bytes: Uint8Array,
  pos: number,
): { value: number; next: number } | undefined {
  let value = 0;
  for (let shift = 0; shift < 28; shift += 7) {
    if (pos >= bytes.length) return undefined;
    const byte = bytes[pos++];
    value |= (byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) return { value, next: pos };
  }
  return undefined;
}

function readVarint64(
  bytes: Uint8Array,
  pos: number,
): { value: bigint; next: number } | undefined {
  // Below 2^28 (every real transaction id) in plain numbers; beyond, in bigint.
  let low = 0;
  let shift = 0;
  for (; shift < 28; shift += 7) {
    if (pos >= bytes.length) return undefined;
    const byte = bytes[pos++];
    low |= (byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) return { value: BigInt(low), next: pos };
  }
  let value = BigInt(low);
  for (; shift < 64; shift += 7) {
    if (pos >= bytes.length) return undefined;
    const byte = bytes[pos++];
    value |= BigInt(byte & 0x7f) << BigInt(shift);
    if ((byte & 0x80) === 0) return value <= 0xffffffffffffffffn ? { value, next: pos } : undefined;
  }
  return undefined;
}
