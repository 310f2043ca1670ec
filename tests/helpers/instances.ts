/**
 * Several service instances on one database, as behind a load balancer: each has its own
 * ELECTRIC_INSTANCE_ID, ports and process; `endpoint(home)` is what a balancer would pick for
 * a client (its home instance while that one is up, else the next one that is).
 */
import { findFreePort } from "../../src/embedded/mod.ts";
import { serviceEnv } from "./service_config.ts";
import { type ServiceProcess, startService } from "./service_process.ts";

export interface Instance {
  id: string;
  httpPort: number;
  proxyPort: number;
  env: Record<string, string>;
  service: ServiceProcess;
  /** False from the moment it is being stopped until it answers 200 again. */
  up: boolean;
  /** Output of its earlier processes. */
  earlier: string;
}

export const INSTANCE_SETTINGS = {
  synchronous_commit: "on",
  // Subscriptions reconnect soon after their instance restarts.
  wal_retrieve_retry_interval: "100ms",
  // Per instance: two slots, up to two temporary ones, two WAL senders, one apply worker.
  max_replication_slots: "32",
  max_wal_senders: "32",
  max_logical_replication_workers: "8",
  max_worker_processes: "16",
};

export class Instances {
  readonly list: Instance[] = [];

  static async create(
    databaseUrl: string,
    ids: string[],
    overrides: Record<string, string>,
  ): Promise<Instances> {
    const instances = new Instances();
    for (const id of ids) {
      const httpPort = await findFreePort();
      const env = await serviceEnv(databaseUrl, httpPort, {
        LOGICAL_PUBLISHER_HOST: "127.0.0.1",
        ELECTRIC_INSTANCE_ID: id,
        ...overrides,
      });
      instances.list.push({
        id,
        httpPort,
        proxyPort: Number(env.PG_PROXY_PORT),
        env,
        service: undefined as unknown as ServiceProcess,
        up: false,
        earlier: "",
      });
    }
    return instances;
  }

  /** Starts every instance at the same moment and waits until all answer 200. */
  async startAll(): Promise<void> {
    for (const instance of this.list) instance.service = startService(instance.env);
    await Promise.all(this.list.map((instance) => this.#ready(instance)));
  }

  async #ready(instance: Instance): Promise<void> {
    await instance.service.waitForStatus(instance.httpPort, 200, 30_000);
    instance.up = true;
  }

  async kill(index: number): Promise<void> {
    const instance = this.list[index];
    instance.up = false;
    instance.service.kill();
    await instance.service.exited;
    instance.earlier += `${instance.service.output()}\n--- killed ---\n`;
  }

  async stop(index: number): Promise<void> {
    const instance = this.list[index];
    instance.up = false;
    instance.service.signal("SIGTERM");
    await instance.service.exited;
    instance.earlier += `${instance.service.output()}\n--- stopped ---\n`;
  }

  async restart(index: number): Promise<void> {
    const instance = this.list[index];
    instance.service = startService(instance.env);
    await this.#ready(instance);
  }

  /** The instance a balancer sends a client of `home` to. */
  endpoint(home: number): { host: string; port: number } {
    for (let i = 0; i < this.list.length; i++) {
      const instance = this.list[(home + i) % this.list.length];
      if (instance.up) return { host: "127.0.0.1", port: instance.httpPort };
    }
    return { host: "127.0.0.1", port: this.list[home].httpPort };
  }

  output(index: number): string {
    const instance = this.list[index];
    return `${instance.earlier}${instance.service?.output() ?? ""}`;
  }

  tails(chars = 3000): string {
    return this.list.map((instance, i) =>
      `--- instance ${instance.id} ---\n${this.output(i).slice(-chars)}`
    ).join("\n");
  }

  async stopAll(): Promise<void> {
    for (const instance of this.list) instance.service?.kill();
    await Promise.all(this.list.map((instance) => instance.service?.exited));
  }
}

/** `postgresql://…` of an instance's migrations proxy. */
export function proxyUrl(databaseUrl: string, proxyPort: number): string {
  const url = new URL(databaseUrl);
  return `postgresql://postgres:proxy_password@127.0.0.1:${proxyPort}${url.pathname}`;
}
