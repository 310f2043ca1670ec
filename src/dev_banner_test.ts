import { test } from "node:test";
import assert from "node:assert/strict";
import type { Config } from "./config/mod.ts";
import { devBanner } from "./dev_banner.ts";

function config(password: string, httpTunnel = false): Config {
  return {
    httpPort: 5133,
    auth: { mode: "insecure" },
    database: { database: "postgres" },
    proxy: { password, port: 65432, httpTunnel },
  } as unknown as Config;
}

test("the dev default password is printed in ready-to-paste commands", () => {
  const text = devBanner({ config: config("proxy_password") }).join("\n");
  assert.match(text, /postgresql:\/\/postgres:proxy_password@localhost:65432\/postgres/);
  assert.match(text, /ALTER TABLE items ENABLE ELECTRIC/);
  assert.match(
    text,
    /npx electric-sql generate --service http:\/\/localhost:5133 --proxy "postgresql:\/\/prisma:proxy_password@localhost:65432\/postgres"/,
  );
  assert.doesNotMatch(text, /password: PG_PROXY_PASSWORD/);
});

test("a password the user chose is referred to by its variable, never printed", () => {
  const text = devBanner({ config: config("my-own-secret") }).join("\n");
  assert.doesNotMatch(text, /my-own-secret/);
  assert.match(text, /postgres:\$PG_PROXY_PASSWORD@localhost:65432/);
});

test("the local cluster is named with its data folder", () => {
  const text = devBanner({
    config: config("proxy_password"),
    cluster: { url: "postgresql://postgres@localhost:5555/postgres", dataDir: ".electric/pgdata" },
  }).join("\n");
  assert.match(text, /Local Postgres: +postgresql:\/\/postgres@localhost:5555\/postgres \(data in/);
});
