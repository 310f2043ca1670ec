/**
 * Which connection is live per client id (a reconnecting client replaces its old socket,
 * which may not have been noticed dead yet), its writes still on their way to Postgres, and
 * the last client LSN Postgres applied for it.
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
  #writes = new Map<string, Set<Promise<unknown>>>();

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

  /** Remembers a write of `clientId` (handed to the writer) until it is applied or refused. */
  track(clientId: string, write: Promise<unknown>): void {
    let pending = this.#writes.get(clientId);
    if (!pending) this.#writes.set(clientId, pending = new Set());
    const writes = pending;
    writes.add(write);
    const done = () => {
      writes.delete(write);
      if (writes.size === 0 && this.#writes.get(clientId) === writes) this.#writes.delete(clientId);
    };
    write.then(done, done);
  }

  /**
   * Resolves once every write of `clientId` tracked so far is applied or refused. A client is
   * asked for its writes after the last one Postgres holds only then: a write that came on an
   * earlier connection and still waits in the writer's queue would otherwise be asked for
   * again and applied twice.
   */
  async writesSettled(clientId: string): Promise<void> {
    const pending = this.#writes.get(clientId);
    if (pending) await Promise.allSettled([...pending]);
  }

  /**
   * The client LSN of the client's last transaction applied in Postgres (empty if none). Read
   * under a row lock, so a transaction of the client that another session is applying right
   * now (a killed instance's writer finishing its batch, another instance's subscription) is
   * waited for and counted; one such session may still apply more afterwards, which the
   * `electric.acknowledged_client_lsns` triggers turn away (applied at most once).
   */
  async appliedClientLsn(sql: Sql, clientId: string): Promise<Uint8Array> {
    const rows = await sql.begin((tx) =>
      tx`SELECT lsn FROM electric.acknowledged_client_lsns WHERE client_id = ${clientId}
         FOR UPDATE`
    ) as { lsn: Uint8Array }[];
    const row = rows[0];
    return row ? new Uint8Array(row.lsn) : new Uint8Array();
  }
}
