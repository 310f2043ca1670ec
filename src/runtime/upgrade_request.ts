/**
 * What every WebSocket upgrade must carry (RFC 6455 §4.2.1), checked the same way on every
 * runtime before it is handed the request: Deno's upgrade accepts a `Sec-WebSocket-Key` that is
 * not the base64 of 16 bytes, Bun's does not, and a malformed handshake must be a 400 on both.
 */

/** Base64 of a 16-byte nonce: 22 characters and `==`. */
const KEY = /^[A-Za-z0-9+/]{22}==$/;

/** Whether a `Sec-WebSocket-Key` header value is the base64 of a 16-byte nonce. */
export function isWebSocketKey(value: string | null): boolean {
  return KEY.test(value?.trim() ?? "");
}

export function isWebSocketUpgrade(request: Request): boolean {
  const headers = request.headers;
  return request.method === "GET" &&
    headers.get("upgrade")?.toLowerCase() === "websocket" &&
    headers.get("sec-websocket-version") === "13" &&
    isWebSocketKey(headers.get("sec-websocket-key"));
}
