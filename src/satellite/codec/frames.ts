/**
 * The Satellite frame layout (doc `satellite-protocol.md` 1.3): one binary WebSocket message is
 * one frame, byte 0 is the message type code and bytes 1..n are the protobuf encoding of that
 * message. No length prefix, no batching; an empty message is the type byte alone.
 *
 * Only the thirteen messages below travel at top level. Everything else in the `.proto`
 * (`SatAuthReq`, `SatSubsReq`, …) rides inside `SatRpcRequest.message` /
 * `SatRpcResponse.message` or is nested, so it has no code. Codes 1–8, 11–13, 19 and 20 belong
 * to retired messages and decode as `UNKNOWN_TYPE` like any other unlisted byte.
 */
import {
  create,
  fromBinary,
  type MessageInitShape,
  type MessageShape,
  toBinary,
} from "@bufbuild/protobuf";
import {
  SatErrorRespSchema,
  SatOpLogAckSchema,
  SatOpLogSchema,
  SatRelationSchema,
  SatRpcRequestSchema,
  SatRpcResponseSchema,
  SatShapeDataBeginSchema,
  SatShapeDataEndSchema,
  SatSubsDataBeginSchema,
  SatSubsDataEndSchema,
  SatSubsDataErrorSchema,
  SatUnsubsDataBeginSchema,
  SatUnsubsDataEndSchema,
} from "../../gen/mod.ts";

/**
 * Type code, schema and sender of every top-level message. `from` is who may send it; the
 * codec does not enforce it (that is the session's call), it is here so the table is complete.
 */
export const FRAMES = {
  // A client-sent SatErrorResp is legal on the wire; the reference just closes the socket.
  SatErrorResp: { type: 0, schema: SatErrorRespSchema, from: "server" },
  SatOpLog: { type: 9, schema: SatOpLogSchema, from: "both" },
  SatRelation: { type: 10, schema: SatRelationSchema, from: "both" },
  SatSubsDataError: { type: 14, schema: SatSubsDataErrorSchema, from: "server" },
  SatSubsDataBegin: { type: 15, schema: SatSubsDataBeginSchema, from: "server" },
  SatSubsDataEnd: { type: 16, schema: SatSubsDataEndSchema, from: "server" },
  SatShapeDataBegin: { type: 17, schema: SatShapeDataBeginSchema, from: "server" },
  SatShapeDataEnd: { type: 18, schema: SatShapeDataEndSchema, from: "server" },
  SatRpcRequest: { type: 21, schema: SatRpcRequestSchema, from: "both" },
  SatRpcResponse: { type: 22, schema: SatRpcResponseSchema, from: "both" },
  SatOpLogAck: { type: 23, schema: SatOpLogAckSchema, from: "client" },
  SatUnsubsDataBegin: { type: 24, schema: SatUnsubsDataBeginSchema, from: "server" },
  SatUnsubsDataEnd: { type: 25, schema: SatUnsubsDataEndSchema, from: "server" },
} as const;

/** Name of a top-level message, e.g. `"SatOpLog"`. */
export type FrameName = keyof typeof FRAMES;

/** Type code of a top-level message, e.g. `9` for `SatOpLog`. */
export type FrameType = (typeof FRAMES)[FrameName]["type"];

/** The decoded message type of the frame called `N`. */
export type FrameMessageOf<N extends FrameName> = MessageShape<(typeof FRAMES)[N]["schema"]>;

/** Any message that may be sent as a frame of its own. */
export type FrameMessage = { [N in FrameName]: FrameMessageOf<N> }[FrameName];

/** A decoded frame; switch on `name` (or `type`) to narrow `message`. */
export type Frame = {
  [N in FrameName]: { type: (typeof FRAMES)[N]["type"]; name: N; message: FrameMessageOf<N> };
}[FrameName];

/** Why a frame could not be decoded. */
export type FrameErrorCode = "EMPTY_FRAME" | "UNKNOWN_TYPE" | "TOO_LARGE" | "MALFORMED";

export type FrameError = { code: FrameErrorCode; message: string };

export type DecodeResult = ({ ok: true } & Frame) | { ok: false; error: FrameError };

export type DecodeOptions = {
  /** Largest accepted frame in bytes, type byte included. Default `DEFAULT_MAX_FRAME_SIZE`. */
  maxFrameSize?: number;
};

/**
 * 16 MiB: Bun's default WebSocket payload limit, so by default the codec accepts exactly what a
 * Bun transport would deliver. The protocol itself sets no limit.
 */
export const DEFAULT_MAX_FRAME_SIZE = 16 * 1024 * 1024;

const NAME_BY_TYPE: ReadonlyMap<number, FrameName> = new Map(
  (Object.keys(FRAMES) as FrameName[]).map((name) => [FRAMES[name].type, name]),
);

// Messages carry their fully qualified type name; encodeFrame finds the code through it.
const NAME_BY_TYPE_NAME: ReadonlyMap<string, FrameName> = new Map(
  (Object.keys(FRAMES) as FrameName[]).map((name) => [FRAMES[name].schema.typeName, name]),
);

/** The top-level message name for a type code, or `undefined` if the code is not in use. */
export function frameName(type: number): FrameName | undefined {
  return NAME_BY_TYPE.get(type);
}

/**
 * Encodes a top-level message as one frame: its type byte followed by its protobuf body.
 * Throws a `TypeError` for a message that has no frame type (e.g. a bare `SatAuthReq`), which
 * the types already rule out unless they were bypassed.
 */
export function encodeFrame(message: FrameMessage): Uint8Array {
  const name = NAME_BY_TYPE_NAME.get(message.$typeName);
  if (name === undefined) {
    throw new TypeError(`Not a top-level Satellite message: '${message.$typeName}'`);
  }
  const spec = FRAMES[name];
  // Typed as unions, schema and message are only paired by the `$typeName` lookup above.
  const body = toBinary(spec.schema, message);
  const frame = new Uint8Array(body.length + 1);
  frame[0] = spec.type;
  frame.set(body, 1);
  return frame;
}

/**
 * Builds and encodes a frame in one step from a message name and its fields (plain values, as
 * accepted by `create`).
 */
export function encodeFrameOf<N extends FrameName>(
  name: N,
  init?: MessageInitShape<(typeof FRAMES)[N]["schema"]>,
): Uint8Array {
  return encodeFrame(create(FRAMES[name].schema, init) as FrameMessage);
}

/**
 * Decodes one frame. Never throws: every failure comes back as `{ ok: false, error }` so the
 * transport can answer with `SatErrorResp` and close (doc 1.3) without a try/catch of its own.
 */
export function decodeFrame(
  bytes: Uint8Array | ArrayBuffer,
  options: DecodeOptions = {},
): DecodeResult {
  const frame = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  const max = options.maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE;
  if (frame.length === 0) {
    return fail("EMPTY_FRAME", "Empty Satellite frame: a frame needs at least its type byte");
  }
  if (frame.length > max) {
    return fail("TOO_LARGE", `Satellite frame too large: ${frame.length} bytes, limit ${max}`);
  }
  const type = frame[0];
  const name = NAME_BY_TYPE.get(type);
  if (name === undefined) return fail("UNKNOWN_TYPE", `Unknown Satellite message type '${type}'`);
  try {
    const message = fromBinary(FRAMES[name].schema, frame.subarray(1));
    return { ok: true, type, name, message } as DecodeResult;
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    return fail("MALFORMED", `Malformed ${name} frame: ${detail}`);
  }
}

function fail(code: FrameErrorCode, message: string): DecodeResult {
  return { ok: false, error: { code, message } };
}
