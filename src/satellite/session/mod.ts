/**
 * Satellite sessions: the per-connection protocol logic (authentication, replication start,
 * streaming, subscriptions, acknowledgements) and its WebSocket transport.
 */
export {
  CLOSE,
  type ConnectionDeps,
  type InboundHandler,
  SatelliteConnection,
  type SocketLike,
} from "./connection.ts";
export { ClientRegistry } from "./clients.ts";
export { checkHandshake } from "./handshake.ts";
export { satelliteHandler } from "./transport.ts";
export { UNACKED_WINDOW } from "./client_stream.ts";
export { SharedFrames } from "./frames_out.ts";
export { Inbound, type InboundOptions, type InboundProblem } from "./inbound.ts";
export {
  SatelliteMetrics,
  type SatelliteMetricsOptions,
  type SessionView,
  type WalPositions,
} from "./metrics.ts";
