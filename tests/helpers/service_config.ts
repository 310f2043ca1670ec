/**
 * Builds a valid service configuration for tests from a database URL, through the real
 * configuration loader, so tests exercise the same parsing the service does.
 */
import { type Config, loadConfig } from "../../src/config/mod.ts";
import { findFreePort } from "../../src/embedded/mod.ts";

export function testConfig(
  databaseUrl: string,
  overrides: Record<string, string> = {},
): Readonly<Config> {
  const loaded = loadConfig({
    DATABASE_URL: databaseUrl,
    AUTH_MODE: "insecure",
    PG_PROXY_PASSWORD: "proxy_password",
    ELECTRIC_WRITE_TO_PG_MODE: "direct_writes",
    ...overrides,
  });
  if (!loaded.ok) {
    throw new Error(
      `Invalid test configuration: ${loaded.problems.map((p) => p.message).join("; ")}`,
    );
  }
  return loaded.config;
}

/**
 * The environment a spawned service needs to start against `databaseUrl`. The proxy and the
 * logical publisher get free ports unless given: services of tests running side by side must
 * not compete for the default ones.
 */
export async function serviceEnv(
  databaseUrl: string,
  httpPort: number,
  overrides: Record<string, string> = {},
): Promise<Record<string, string>> {
  return {
    PG_PROXY_PORT: String(await findFreePort()),
    LOGICAL_PUBLISHER_PORT: String(await findFreePort()),
    PATH: process.env.PATH ?? "",
    HOME: process.env.HOME ?? "/tmp",
    DATABASE_URL: databaseUrl,
    AUTH_MODE: "insecure",
    PG_PROXY_PASSWORD: "proxy_password",
    ELECTRIC_WRITE_TO_PG_MODE: "direct_writes",
    HTTP_PORT: String(httpPort),
    ...overrides,
  };
}
