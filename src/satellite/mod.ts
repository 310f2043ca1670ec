/**
 * The Satellite protocol server: frame codec, row serialization and sessions. Edge module:
 * it reads the transaction log, the schema catalog and Postgres, and never touches the
 * replication connection. `http` mounts `satelliteHandler` at `/ws`.
 */
export {
  ClientRegistry,
  Inbound,
  type ConnectionDeps,
  type InboundHandler,
  satelliteHandler,
} from "./session/mod.ts";
