/**
 * The WebSocket transport of the Satellite protocol: checks the handshake, upgrades through
 * the runtime, and connects socket events to a `SatelliteConnection`. No protocol logic.
 */
import type { Runtime } from "../../runtime/mod.ts";
import { checkHandshake } from "./handshake.ts";
import { type ConnectionDeps, SatelliteConnection } from "./connection.ts";

/** Seconds of silence after which the runtime pings the client and then drops it. */
const IDLE_TIMEOUT_SECONDS = 20;

const encoder = new TextEncoder();

export function satelliteHandler(
  runtime: Pick<Runtime, "upgradeWebSocket">,
  deps: ConnectionDeps,
): (request: Request) => Response {
  return (request) => {
    const decision = checkHandshake(request.method, request.headers);
    if (!decision.ok) {
      return new Response(encoder.encode(decision.body), { status: decision.status });
    }
    let connection: SatelliteConnection | undefined;
    const response = runtime.upgradeWebSocket(request, {
      protocol: decision.protocol,
      idleTimeoutSeconds: IDLE_TIMEOUT_SECONDS,
      handlers: {
        onOpen(socket) {
          connection = new SatelliteConnection(deps, socket);
        },
        onMessage(_socket, data) {
          connection?.receive(data);
        },
        onClose() {
          connection?.closed();
        },
      },
    });
    return response ?? new Response(encoder.encode("Bad request"), { status: 400 });
  };
}
