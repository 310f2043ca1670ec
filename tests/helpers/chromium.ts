/**
 * Debian's Chromium driven by playwright-core, for tests of the pages the service serves.
 * Each launch gets a fresh profile directory, removed on close. The networking flags matter:
 * without them Chromium waits on background requests this machine's closed network never
 * answers.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, chromium } from "playwright-core";

export const CHROMIUM = "/usr/bin/chromium";

const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export interface Chromium {
  context: BrowserContext;
  /** Closes the browser (and its processes) and deletes the profile. */
  close(): Promise<void>;
}

const INSTALL_CHROMIUM = "install the Debian package as root: " +
  "`apt-get update && apt-get install -y chromium` (`bash scripts/test` does this itself " +
  "when it runs as root on a machine with apt-get)";

/** Launches Chromium, or throws saying how to install it: a missing browser is a failure. */
export async function launchChromium(executable = CHROMIUM): Promise<Chromium> {
  if (!existsSync(executable)) {
    throw new Error(
      `Chromium is not installed: "${executable}" is missing, and the status page is tested ` +
        `in it; ${INSTALL_CHROMIUM}, then run the test again`,
    );
  }
  const profile = mkdtempSync(join(tmpdir(), "electric-test-chromium-"));
  try {
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: executable,
      headless: true,
      args: ARGS,
      timeout: 30_000,
    });
    return {
      context,
      async close() {
        try {
          await context.close();
        } finally {
          rmSync(profile, { recursive: true, force: true });
        }
      },
    };
  } catch (error) {
    rmSync(profile, { recursive: true, force: true });
    throw error;
  }
}
