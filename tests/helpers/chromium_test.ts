import assert from "node:assert/strict";
import { test } from "node:test";
import { launchChromium } from "./chromium.ts";

test("a missing Chromium fails at once, naming the path and how to install it", async () => {
  await assert.rejects(launchChromium("/nonexistent/chromium"), (error: Error) => {
    assert.match(error.message, /"\/nonexistent\/chromium" is missing/);
    assert.match(error.message, /apt-get install -y chromium/);
    assert.match(error.message, /bash scripts\/test/);
    return true;
  });
});
