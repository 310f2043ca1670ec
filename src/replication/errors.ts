/**
 * Replication failures as coded values. They are thrown only across the connector boundary
 * (a step's `run` or `lost`), where the connector logs them and reconnects with backoff.
 */

export type ReplicationErrorCode =
  /** Another session holds the temporary slot: most likely a second instance. */
  | "ANOTHER_INSTANCE_CONNECTED"
  /** The main slot is missing (dropped by hand) where it must exist. */
  | "SLOT_NOT_FOUND"
  /** The stream carried something that cannot be decoded or assembled. */
  | "DECODE_FAILED"
  | "PROTOCOL_VIOLATION"
  /** The replication connection closed or failed. */
  | "STREAM_LOST"
  /** A retained-WAL read did not reach its end in time. */
  | "RETAINED_READ_TIMEOUT";

export class ReplicationError extends Error {
  readonly code: ReplicationErrorCode;
  /** Whether retrying (reconnecting) can help. */
  readonly transient: boolean;

  constructor(code: ReplicationErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ReplicationError";
    this.code = code;
    this.transient = true;
  }
}

/** SQLSTATE of a postgres.js error, if it is one. */
export function sqlState(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

export const SQLSTATE = {
  duplicateObject: "42710",
  objectInUse: "55006",
  undefinedObject: "42704",
  queryCanceled: "57014",
} as const;
