/**
 * State kept per client id across connections: which connection is live (a reconnecting
 * client replaces its old socket, which may not have been noticed dead yet), the resume
 * checkpoint (the shape state as of a position the client acknowledged), and the last client
 * LSN Postgres applied. Checkpoints live in memory and in `electric.client_checkpoints`, so a
 * restarted service can resume clients too.
 */
import { Buffer } from "node:buffer";
import type { Sql } from "../../storage/mod.ts";

export interface ClientCheckpoint {
  /** Stream position the state is valid at. */
  lsn: bigint;
  /** Serialized shape state (`ShapeState.toJSON()`), including the subscriptions. */
  state: unknown;
}

export interface LiveConnection {
  /** Closes the connection because the same client connected again. */
  replaced(): void;
}

export class ClientRegistry {
  #live = new Map<string, LiveConnection>();
  #checkpoints = new Map<string, ClientCheckpoint>();

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

  async loadCheckpoint(
    sql: Sql | undefined,
    clientId: string,
  ): Promise<ClientCheckpoint | undefined> {
    const cached = this.#checkpoints.get(clientId);
    if (cached || !sql) return cached;
    const [row] = await sql`
      SELECT pg_wal_pos::text AS lsn, sent_rows_graph FROM electric.client_checkpoints
       WHERE client_id = ${clientId}`;
    if (!row) return undefined;
    const checkpoint = {
      lsn: BigInt(row.lsn),
      state: JSON.parse(Buffer.from(row.sent_rows_graph).toString("utf8")),
    };
    this.#checkpoints.set(clientId, checkpoint);
    return checkpoint;
  }

  async saveCheckpoint(
    sql: Sql | undefined,
    clientId: string,
    checkpoint: ClientCheckpoint,
  ): Promise<void> {
    this.#checkpoints.set(clientId, checkpoint);
    if (!sql) return;
    const bytes = Buffer.from(JSON.stringify(checkpoint.state), "utf8");
    await sql`
      INSERT INTO electric.client_checkpoints (client_id, pg_wal_pos, sent_rows_graph)
      VALUES (${clientId}, ${checkpoint.lsn.toString()}::int8, ${bytes})
      ON CONFLICT (client_id) DO UPDATE
        SET pg_wal_pos = excluded.pg_wal_pos, sent_rows_graph = excluded.sent_rows_graph`;
  }

  async forget(sql: Sql | undefined, clientId: string): Promise<void> {
    this.#checkpoints.delete(clientId);
    if (sql) await sql`DELETE FROM electric.client_checkpoints WHERE client_id = ${clientId}`;
  }

  /** The client LSN of the client's last transaction applied in Postgres (empty if none). */
  async appliedClientLsn(sql: Sql, clientId: string): Promise<Uint8Array> {
    const [row] =
      await sql`SELECT lsn FROM electric.acknowledged_client_lsns WHERE client_id = ${clientId}`;
    return row ? new Uint8Array(row.lsn) : new Uint8Array();
  }
}
