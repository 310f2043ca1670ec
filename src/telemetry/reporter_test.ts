import { test } from "node:test";
import assert from "node:assert/strict";
import { createLogger } from "./logger.ts";
import { TelemetryReporter } from "./reporter.ts";

function setup(fetchImpl: typeof fetch) {
  const lines: string[] = [];
  const logger = createLogger({ level: "debug", write: (l) => lines.push(l) });
  const reporter = new TelemetryReporter({
    endpoint: "http://127.0.0.1:9/telemetry",
    instanceId: "instance-1",
    version: "0.12.1",
    logger,
    fetch: fetchImpl,
    requestTimeoutMs: 200,
  });
  return { reporter, lines };
}

test("a report posts JSON with the instance id", async () => {
  let body: Record<string, unknown> = {};
  const { reporter } = setup(
    ((_url: string, init: RequestInit) => {
      body = JSON.parse(String(init.body));
      return Promise.resolve(new Response("ok"));
    }) as typeof fetch,
  );
  assert.equal(await reporter.reportOnce(), true);
  const data = body.data as { environment: { electric_instance_id: string } };
  assert.equal(data.environment.electric_instance_id, "instance-1");
  assert.equal(body.last_reported, null);
});

test("a failing endpoint logs one warning and never throws", async () => {
  const { reporter, lines } = setup(
    (() => Promise.reject(new Error("unreachable"))) as typeof fetch,
  );
  assert.equal(await reporter.reportOnce(), false);
  assert.equal(lines.length, 1);
  assert.match(
    lines[0],
    /\[warning\] Reporter function failed while trying to send telemetry data/,
  );
});

test("a hanging endpoint is cut off by the request timeout", async () => {
  const { reporter } = setup(
    ((_url: string, init: RequestInit) =>
      new Promise((_resolve, reject) =>
        init.signal?.addEventListener("abort", () => reject(new Error("timed out")))
      )) as typeof fetch,
  );
  assert.equal(await reporter.reportOnce(), false);
});

test("run stops promptly when aborted before the first report", async () => {
  const { reporter } = setup((() => Promise.reject(new Error("no"))) as typeof fetch);
  const controller = new AbortController();
  const running = reporter.run(controller.signal);
  controller.abort();
  await running;
});
