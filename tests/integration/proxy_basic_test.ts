/** Start-up, authentication and pass-through of the migrations proxy against a real Postgres. */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { errorOf, type ProxyHarness, psql, startProxy } from "./proxy_harness.ts";

let h: ProxyHarness;
before(async () => {
  h = await startProxy();
});
after(async () => {
  await h.stop();
});

describe("proxy pass-through", () => {
  test("postgres.js queries run on the DATABASE_URL database", async () => {
    const c = h.client();
    const [row] = await c`SELECT current_database() AS db, 1 + ${41}::int AS n`;
    assert.equal(row.n, 42);
    const [direct] = await h.sql`SELECT current_database() AS db`;
    assert.equal(row.db, direct.db);
  });

  test("psql -c works", async () => {
    const r = await psql(h.port, ["-c", "SELECT 40 + 2 AS answer"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /42/);
  });

  test("errors pass through", async () => {
    const c = h.client();
    const e = await errorOf(c`SELECT * FROM no_such_table`);
    assert.equal(e.code, "42P01");
    const [ok] = await c`SELECT 1 AS one`;
    assert.equal(ok.one, 1);
  });
});
