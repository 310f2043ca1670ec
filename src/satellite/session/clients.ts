/**
 * Which connection is live per client id (a reconnecting client replaces its old socket,
 * which may not have been noticed dead yet), and the last client LSN Postgres applied for it.
 * What a client needs to resume (subscriptions, acknowledged position, group membership) is
 * kept by src/sync's stores.
 */
import type { Sql } from "../../storage/mod.ts";

export interface LiveConnection {
  /** Closes the connection because the same client connected again. */
  replaced(): void;
}

export class ClientRegistry {
  #live = new Map<string, LiveConnection>();

  /** Binds `clientId` to `connection`, closing an older live connection of the same client. */
  claim(clientId: string, connection: LiveConnection): void {
    const previous = this.#live.get(clientId);
    this.#live.set(clientId, connection);
    if (previous && previous !== connection) previous.replaced();
  }

  release(clientId: string, connection: LiveConnection): void {
    if (this.#live.get(clientId) === connection) this.#live.delete(clientId);
  }

  liveCount(): number {
    return this.#live.size;
  }

  /** The client LSN of the client's last transaction applied in Postgres (empty if none). */
  async appliedClientLsn(sql: Sql, clientId: string): Promise<Uint8Array> {
    const [row] =
      await sql`SELECT lsn FROM electric.acknowledged_client_lsns WHERE client_id = ${clientId}`;
    return row ? new Uint8Array(row.lsn) : new Uint8Array();
  }
}
