/**
 * The Satellite protocol server: frame codec, row serialization and sessions. Edge module:
 * it reads the transaction log, the schema catalog and Postgres, and never touches the
 * replication connection. `http` mounts `satelliteHandler` at `/ws`.
 */
export {
  ClientRegistry,
  type ConnectionDeps,
  Inbound,
  type InboundHandler,
  satelliteHandler,
  SatelliteMetrics,
  SharedFrames,
} from "./session/mod.ts";
