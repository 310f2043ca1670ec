/**
 * What every WebSocket upgrade must carry (RFC 6455 §4.2.1), checked the same way on every
 * runtime before it is handed the request: Deno's upgrade accepts a `Sec-WebSocket-Key` that is
 * not the base64 of 16 bytes, Bun's does not; Bun's upgrades without `Connection: Upgrade`,
 * Deno's does not. A malformed handshake must be a 400 on both.
 */

/** Base64 of a 16-byte nonce: 22 characters and `==`. */
const KEY = /^[A-Za-z0-9+/]{22}==$/;

/** Whether a `Sec-WebSocket-Key` header value is the base64 of a 16-byte nonce. */
export function isWebSocketKey(value: string | null): boolean {
  return KEY.test(value?.trim() ?? "");
}

/** Whether a `Connection` header value lists the `upgrade` option (any case, among others). */
export function hasUpgradeOption(value: string | null): boolean {
  return (value ?? "").split(",").some((option) => option.trim().toLowerCase() === "upgrade");
}

export function isWebSocketUpgrade(request: Request): boolean {
  const headers = request.headers;
  return request.method === "GET" &&
    headers.get("upgrade")?.toLowerCase() === "websocket" &&
    hasUpgradeOption(headers.get("connection")) &&
    headers.get("sec-websocket-version") === "13" &&
    isWebSocketKey(headers.get("sec-websocket-key"));
}
