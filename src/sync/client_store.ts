/**
 * What is kept per client id across connections and restarts, all of it small and
 * independent of how many rows the client holds: its established subscriptions (the plans,
 * written when a subscription is made and removed once the client has applied its GONE batch)
 * and its acknowledged position. Acknowledgements arrive for every transaction; they are
 * coalesced in memory and written for all clients at once, at most one write in flight, a few
 * times per second.
 */
import type { SubscriptionPlan } from "../shapes/mod.ts";
import type { Sql } from "../storage/mod.ts";

export interface StoredSubscription {
  id: string;
  plan: SubscriptionPlan;
}

export interface ClientStore {
  /**
   * Makes `userId` the owner of `clientId` if it has none; the owner either way. A client id
   * belongs to the first user that used it.
   */
  claim(clientId: string, userId: string): Promise<string>;
  subscriptions(clientId: string): Promise<StoredSubscription[]>;
  /** Stores a subscription before its data is sent (a resume may name it from then on). */
  addSubscription(clientId: string, subscription: StoredSubscription): Promise<void>;
  removeSubscriptions(clientId: string, ids: readonly string[]): Promise<void>;
  /** The last acknowledged position (as far as it was written). */
  acknowledged(clientId: string): Promise<bigint | undefined>;
  /** Notes an acknowledgement; written later together with others. */
  acknowledge(clientId: string, lsn: bigint): void;
  /** Drops everything about the client (a fresh start, or a client that must reset). */
  forget(clientId: string): Promise<void>;
  /** Writes pending acknowledgements now. */
  flush(): Promise<void>;
}

/** Coalesces acknowledgements: latest position per client, one write at a time. */
export class AckCoalescer {
  /** Writes made so far (what coalescing saves is visible in tests and metrics). */
  writes = 0;
  #pending = new Map<string, bigint>();
  #writing: Promise<void> | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    readonly write: (positions: Map<string, bigint>) => Promise<void>,
    readonly intervalMs: number,
    readonly onError: (error: unknown) => void = () => {},
  ) {}

  note(clientId: string, lsn: bigint): void {
    const known = this.#pending.get(clientId);
    if (known === undefined || lsn > known) this.#pending.set(clientId, lsn);
    this.#timer ??= setTimeout(() => {
      this.#timer = undefined;
      void this.flush();
    }, this.intervalMs);
  }

  pending(clientId: string): bigint | undefined {
    return this.#pending.get(clientId);
  }

  drop(clientId: string): void {
    this.#pending.delete(clientId);
  }

  async flush(): Promise<void> {
    while (this.#writing) await this.#writing;
    if (this.#pending.size === 0) return;
    const batch = this.#pending;
    this.#pending = new Map();
    this.writes++;
    this.#writing = this.write(batch).catch((error) => {
      // Keep what failed unless newer positions came in meanwhile.
      for (const [client, lsn] of batch) {
        if (!this.#pending.has(client)) this.#pending.set(client, lsn);
      }
      this.onError(error);
    }).finally(() => this.#writing = undefined);
    await this.#writing;
  }

  stop(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

export class InMemoryClientStore implements ClientStore {
  owners = new Map<string, string>();

  claim(clientId: string, userId: string): Promise<string> {
    if (!this.owners.has(clientId)) this.owners.set(clientId, userId);
    return Promise.resolve(this.owners.get(clientId)!);
  }

  readonly subs = new Map<string, Map<string, StoredSubscription>>();
  readonly positions = new Map<string, bigint>();

  subscriptions(clientId: string): Promise<StoredSubscription[]> {
    return Promise.resolve([...(this.subs.get(clientId)?.values() ?? [])]);
  }

  addSubscription(clientId: string, subscription: StoredSubscription): Promise<void> {
    if (!this.subs.has(clientId)) this.subs.set(clientId, new Map());
    this.subs.get(clientId)!.set(subscription.id, subscription);
    return Promise.resolve();
  }

  removeSubscriptions(clientId: string, ids: readonly string[]): Promise<void> {
    for (const id of ids) this.subs.get(clientId)?.delete(id);
    return Promise.resolve();
  }

  acknowledged(clientId: string): Promise<bigint | undefined> {
    return Promise.resolve(this.positions.get(clientId));
  }

  acknowledge(clientId: string, lsn: bigint): void {
    const known = this.positions.get(clientId);
    if (known === undefined || lsn > known) this.positions.set(clientId, lsn);
  }

  forget(clientId: string): Promise<void> {
    this.subs.delete(clientId);
    this.positions.delete(clientId);
    return Promise.resolve();
  }

  flush(): Promise<void> {
    return Promise.resolve();
  }
}

export class PostgresClientStore implements ClientStore {
  readonly #acks: AckCoalescer;

  constructor(
    readonly sql: () => Sql | undefined,
    options: { ackIntervalMs?: number; onError?: (error: unknown) => void } = {},
  ) {
    this.#acks = new AckCoalescer(
      (positions) => this.#writePositions(positions),
      options.ackIntervalMs ?? 1_000,
      options.onError,
    );
  }

  #pool(): Sql {
    const sql = this.sql();
    if (!sql) throw new Error("Postgres is not connected");
    return sql;
  }

  async claim(clientId: string, userId: string): Promise<string> {
    // The insert's row when it claimed the id, else the owner's. A claim racing another one
    // for a new id can see neither (the other committed after this statement's snapshot was
    // taken); the next statement sees it.
    for (;;) {
      const [row] = await this.#pool()<{ owner: string }[]>`
        WITH claimed AS (
          INSERT INTO electric.client_owners (client_id, user_id) VALUES (${clientId}, ${userId})
          ON CONFLICT (client_id) DO NOTHING RETURNING user_id)
        SELECT user_id AS owner FROM claimed
        UNION ALL
        SELECT user_id FROM electric.client_owners WHERE client_id = ${clientId}
        LIMIT 1`;
      if (row) return row.owner;
    }
  }

  async subscriptions(clientId: string): Promise<StoredSubscription[]> {
    const rows = await this.#pool()`
      SELECT subscription_id, plan FROM electric.client_subscriptions
       WHERE client_id = ${clientId} ORDER BY created_at, subscription_id`;
    return rows.map((row) => ({
      id: String(row.subscription_id),
      plan: (typeof row.plan === "string" ? JSON.parse(row.plan) : row.plan) as SubscriptionPlan,
    }));
  }

  async addSubscription(clientId: string, subscription: StoredSubscription): Promise<void> {
    await this.#pool()`
      INSERT INTO electric.client_subscriptions (client_id, subscription_id, plan)
      VALUES (${clientId}, ${subscription.id}, ${JSON.stringify(subscription.plan)}::jsonb)
      ON CONFLICT (client_id, subscription_id) DO UPDATE SET plan = excluded.plan`;
  }

  async removeSubscriptions(clientId: string, ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.#pool()`
      DELETE FROM electric.client_subscriptions
       WHERE client_id = ${clientId} AND subscription_id = ANY(${[...ids]}::text[])`;
  }

  async acknowledged(clientId: string): Promise<bigint | undefined> {
    const pending = this.#acks.pending(clientId);
    if (pending !== undefined) return pending;
    const [row] = await this.#pool()`
      SELECT acked_lsn::text AS lsn FROM electric.client_positions WHERE client_id = ${clientId}`;
    return row ? BigInt(row.lsn) : undefined;
  }

  acknowledge(clientId: string, lsn: bigint): void {
    this.#acks.note(clientId, lsn);
  }

  async forget(clientId: string): Promise<void> {
    this.#acks.drop(clientId);
    const sql = this.#pool();
    await sql`DELETE FROM electric.client_subscriptions WHERE client_id = ${clientId}`;
    await sql`DELETE FROM electric.client_positions WHERE client_id = ${clientId}`;
  }

  flush(): Promise<void> {
    return this.#acks.flush();
  }

  /** Position writes made so far. */
  get positionWrites(): number {
    return this.#acks.writes;
  }

  stop(): void {
    this.#acks.stop();
  }

  async #writePositions(positions: Map<string, bigint>): Promise<void> {
    const clients = [...positions.keys()];
    const lsns = clients.map((c) => positions.get(c)!.toString());
    await this.#pool()`
      INSERT INTO electric.client_positions AS p (client_id, acked_lsn, updated_at)
      SELECT c, l, now() FROM unnest(${clients}::text[], ${lsns}::int8[]) AS t(c, l)
      ON CONFLICT (client_id) DO UPDATE
        SET acked_lsn = GREATEST(p.acked_lsn, excluded.acked_lsn), updated_at = now()`;
  }
}
