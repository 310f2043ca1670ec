/**
 * One Satellite connection (satellite-protocol.md §3): frames in order, authentication and
 * token expiry, and closing with the right code. Once the client is authenticated the
 * replication side (startReplication, streaming, subscriptions, acknowledgements, the write
 * path's hooks) is its `ReplicationSession` (replication_session.ts). Frames come in through
 * `receive`; frames go out through the socket.
 *
 * Flow on a connection:
 *   authenticate → [server startReplication → client answer → client SatOpLog …]
 *   client startReplication → migrations, relations, transactions …
 *   subscribe → response, later the data at its insertion point; unsubscribe → GONE batch
 */
import { create } from "@bufbuild/protobuf";
import {
  SatAuthReqSchema,
  SatAuthRespSchema,
  type SatOpLog,
  type SatRelation,
  type SatRpcRequest,
  type SatRpcResponse,
} from "../../gen/mod.ts";
import type { Logger } from "../../telemetry/mod.ts";
import { decodeFrame, decodeRpcPayload, scanPlainAck } from "../codec/mod.ts";
import type { ConnectionDeps, InboundHandler } from "./deps.ts";
import type { Phase } from "./metrics.ts";
import { CLOSE, ReplicationSession, type SessionIo } from "./replication_session.ts";
import {
  errorFrame,
  rpcErrorFrame,
  rpcResponseFrame,
  SatErrorResp_ErrorCode as ErrorCode,
} from "./wire.ts";

export { CLOSE };
export type { ConnectionDeps, InboundHandler };

export interface SocketLike {
  send(frame: Uint8Array): void;
  close(code: number, reason: string): void;
  /** Resolves once no more than `bytes` wait to be written to the client. */
  drained(bytes: number): Promise<void>;
}

/**
 * Also the session's way back to the socket (`SessionIo`) and the registry's handle to close
 * it when the same client connects again: one object per connection, no closures per client.
 */
export class SatelliteConnection implements SessionIo {
  #deps: ConnectionDeps;
  #socket: SocketLike;
  #logger: Logger;
  #clientId: string | undefined;
  #userId: string | undefined;
  #closed = false;
  #expiry: ReturnType<typeof setTimeout> | undefined;
  /** The replication side, once authenticated. */
  #session: ReplicationSession | undefined;
  /** Client messages are handled one at a time, in arrival order. */
  #queue: Promise<void> = Promise.resolve();
  /** Messages queued or being handled; an ordinary ack arriving at 0 is handled at once. */
  #pending = 0;

  constructor(deps: ConnectionDeps, socket: SocketLike) {
    this.#deps = deps;
    this.#socket = socket;
    this.#logger = deps.logger;
    deps.metrics.clientsConnected.inc();
  }

  receive(data: Uint8Array | string): void {
    // Acknowledgements are the most frequent message: with nothing else in the queue, one that
    // names no out-of-band data is handled right here, without a promise or a full decode.
    if (this.#pending === 0 && this.#session && !this.#closed && typeof data !== "string") {
      const transactionId = scanPlainAck(data);
      if (transactionId !== undefined) {
        this.#session.plainAck(transactionId);
        return;
      }
    }
    this.#pending++;
    this.#queue = this.#queue.then(() => this.#handle(data)).finally(() => this.#pending--).catch(
      (error) => {
        this.#logger.error(`Failed to process a client message: ${(error as Error).message}`);
        this.#fail(
          ErrorCode.INTERNAL,
          "Failed to process message",
          CLOSE.internal,
          "Failed to process message",
        );
      },
    );
  }

  /** The socket closed (by either side). Messages that arrived before still get handled. */
  closed(): void {
    this.#queue = this.#queue.then(() => {
      if (this.#closed) return;
      this.#closed = true;
      this.#teardown();
    });
  }

  #teardown(): void {
    this.#deps.metrics.clientsConnected.dec();
    if (this.#expiry) clearTimeout(this.#expiry);
    this.#session?.teardown();
    if (this.#clientId) this.#deps.clients.release(this.#clientId, this);
  }

  /** The same client connected again (ClientRegistry). */
  replaced(): void {
    this.#close(CLOSE.normal, "Replaced by a newer connection of the same client");
  }

  // SessionIo, for the replication session.
  get logger(): Logger {
    return this.#logger;
  }

  send(frame: Uint8Array, phase?: Phase): void {
    this.#send(frame, phase);
  }

  close(code: number, reason: string): void {
    this.#close(code, reason);
  }

  fail(code: ErrorCode, message: string, closeCode?: number, reason?: string): void {
    this.#fail(code, message, closeCode, reason);
  }

  isClosed(): boolean {
    return this.#closed;
  }

  drained(bytes: number): Promise<void> {
    return this.#closed ? Promise.resolve() : this.#socket.drained(bytes);
  }

  #send(frame: Uint8Array, phase: Phase = "live"): void {
    if (this.#closed) return;
    this.#deps.metrics.bytesSent[phase].inc(frame.byteLength);
    this.#socket.send(frame);
  }

  #close(code: number, reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#teardown();
    this.#socket.close(code, closeReason(reason));
  }

  /** Sends a top-level SatErrorResp, then closes. */
  #fail(
    code: ErrorCode,
    message: string,
    closeCode: number = CLOSE.invalid,
    reason = message,
  ): void {
    this.#send(errorFrame(code, message));
    this.#close(closeCode, reason);
  }

  async #handle(data: Uint8Array | string): Promise<void> {
    if (this.#closed) return;
    if (typeof data === "string") {
      this.#fail(
        ErrorCode.INVALID_REQUEST,
        "Text frames are not supported",
        CLOSE.invalid,
        "Message not formatted according to Electric protocol",
      );
      return;
    }
    const frame = decodeFrame(data, { maxFrameSize: this.#deps.maxFrameSize });
    if (!frame.ok) {
      this.#logger.warning(`Corrupted frame from the client: ${frame.error.message}`);
      // The client's error, not the server's (the reference says INTERNAL here).
      this.#fail(
        ErrorCode.INVALID_REQUEST,
        frame.error.message,
        CLOSE.invalid,
        "Message not formatted according to Electric protocol",
      );
      return;
    }
    switch (frame.name) {
      case "SatRpcRequest":
        return await this.#rpc(frame.message as SatRpcRequest);
      case "SatRpcResponse":
        return this.#rpcResponse(frame.message as SatRpcResponse);
      case "SatErrorResp":
        this.#close(CLOSE.normal, "Client reported an error");
        return;
    }
    if (!this.#userId) {
      this.#fail(ErrorCode.AUTH_REQUIRED, "Authentication required");
      return;
    }
    const session = this.#session!;
    switch (frame.name) {
      case "SatOpLogAck":
        return await session.ack(frame.message);
      case "SatRelation":
        return session.relation(frame.message as SatRelation);
      case "SatOpLog":
        return await session.opLog(frame.message as SatOpLog);
      default:
        this.#fail(ErrorCode.INVALID_REQUEST, `Unexpected message ${frame.name}`);
    }
  }

  async #rpc(request: SatRpcRequest): Promise<void> {
    if (request.method === "authenticate") return await this.#authenticate(request);
    if (!this.#userId) {
      this.#send(rpcErrorFrame(request, ErrorCode.AUTH_REQUIRED, "Authentication required"));
      this.#close(CLOSE.invalid, "Authentication required");
      return;
    }
    if (await this.#session!.request(request)) return;
    this.#send(
      rpcErrorFrame(request, ErrorCode.INVALID_REQUEST, `Unknown method ${request.method}`),
    );
    this.#close(CLOSE.invalid, "Unknown RPC method");
  }

  #rpcResponse(response: SatRpcResponse): void {
    this.#session?.response(response);
  }

  async #authenticate(request: SatRpcRequest): Promise<void> {
    const decoded = decodeRpcPayload(SatAuthReqSchema, request.message);
    if (!decoded.ok) {
      this.#send(
        rpcErrorFrame(request, ErrorCode.INVALID_REQUEST, "Malformed authentication request"),
      );
      this.#close(CLOSE.invalid, "Malformed authentication request");
      return;
    }
    const auth = decoded.message;
    if (!auth.id || !auth.token) {
      this.#send(
        rpcErrorFrame(request, ErrorCode.INVALID_REQUEST, "Client id and token are required"),
      );
      this.#close(CLOSE.invalid, "Invalid authentication request");
      return;
    }
    const result = await this.#deps.authenticator.verify(auth.token);
    if (!result.ok) {
      this.#logger.warning(`Client authentication failed: ${result.error.message}`);
      this.#send(rpcErrorFrame(request, ErrorCode.AUTH_REQUIRED, result.error.message));
      this.#close(CLOSE.invalid, "Authentication failed");
      return;
    }
    if (this.#userId && (auth.id !== this.#clientId || result.userId !== this.#userId)) {
      this.#send(
        rpcErrorFrame(
          request,
          ErrorCode.INVALID_REQUEST,
          "Cannot change the client or user of a connection",
        ),
      );
      this.#close(CLOSE.invalid, "Invalid token renewal");
      return;
    }
    const renewal = this.#userId !== undefined;
    if (!renewal && !(await this.#owns(request, auth.id, result.userId))) return;
    this.#clientId = auth.id;
    this.#userId = result.userId;
    this.#logger = this.#deps.logger.child({ client_id: auth.id, user_id: result.userId });
    this.#armExpiry(result.expiresAt);
    if (!renewal) {
      this.#deps.clients.claim(auth.id, this);
      this.#session = new ReplicationSession(this.#deps, this, {
        clientId: auth.id,
        userId: result.userId,
      });
    }
    this.#send(
      rpcResponseFrame(
        request,
        SatAuthRespSchema,
        create(SatAuthRespSchema, { id: this.#deps.instanceId }),
      ),
    );
    this.#logger.info(renewal ? "Client token renewed" : "Successfully authenticated the client");
  }

  /**
   * Whether `userId` may use `clientId`: a client id belongs to the first user that used it.
   * Otherwise the request is refused (before the id's current connection is touched).
   */
  async #owns(request: SatRpcRequest, clientId: string, userId: string): Promise<boolean> {
    let owner: string;
    try {
      owner = await this.#deps.store.claim(clientId, userId);
    } catch (error) {
      this.#logger.warning(`Could not check the owner of a client id: ${(error as Error).message}`);
      this.#send(rpcErrorFrame(request, ErrorCode.INTERNAL, "Could not check the client id"));
      this.#close(CLOSE.internal, "Could not check the client id");
      return false;
    }
    if (owner === userId) return true;
    this.#logger.warning(`Refused client id ${clientId}: it belongs to another user`);
    this.#send(
      rpcErrorFrame(
        request,
        ErrorCode.AUTH_FAILED,
        `Client id ${clientId} belongs to another user`,
      ),
    );
    this.#close(CLOSE.invalid, "Client id belongs to another user");
    return false;
  }

  #armExpiry(expiresAt: Date | undefined): void {
    if (this.#expiry) clearTimeout(this.#expiry);
    this.#expiry = undefined;
    if (!expiresAt) return;
    const delay = Math.max(0, expiresAt.getTime() - Date.now());
    // Timers cannot wait longer than ~24.8 days; such tokens are re-armed on renewal anyway.
    if (delay > 2 ** 31 - 1) return;
    this.#expiry = setTimeout(() => {
      this.#logger.info("Client token expired; closing the connection");
      this.#close(CLOSE.expired, "JWT-expired");
    }, delay);
  }
}

/** A close frame's reason is at most 123 bytes of UTF-8; longer ones are cut at a character. */
const MAX_CLOSE_REASON_BYTES = 123;
const utf8 = new TextEncoder();

export function closeReason(reason: string): string {
  if (utf8.encode(reason).length <= MAX_CLOSE_REASON_BYTES) return reason;
  let cut = "";
  let bytes = 0;
  for (const char of reason) {
    const size = utf8.encode(char).length;
    if (bytes + size > MAX_CLOSE_REASON_BYTES) break;
    cut += char;
    bytes += size;
  }
  return cut;
}
