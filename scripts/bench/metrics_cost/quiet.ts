/**
 * The machine is shared with other work: before each arm the benchmark waits until the whole
 * machine (from /proc/stat, while the benchmark's own processes are idle) has been mostly idle
 * for a short window, so a burst of someone else's work does not land on one arm only. Returns
 * the busy share last seen and how long it waited (it gives up after `maxWaitMs`).
 */
import { readFileSync } from "node:fs";
import { settle } from "../sync/context.ts";

function cpuTimes(): { busy: number; total: number } {
  try {
    const line = readFileSync("/proc/stat", "utf8").split("\n")[0];
    const ticks = line.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal ...: idle and iowait are not busy.
    const total = ticks.slice(0, 8).reduce((a, b) => a + b, 0);
    return { busy: total - ticks[3] - ticks[4], total };
  } catch {
    return { busy: 0, total: 0 };
  }
}

/** Busy share of all cores over `ms`. */
async function busyShare(ms: number): Promise<number> {
  const before = cpuTimes();
  await settle(ms);
  const after = cpuTimes();
  const total = after.total - before.total;
  return total > 0 ? (after.busy - before.busy) / total : 0;
}

export async function waitForQuiet(
  options: { maxBusy: number; windowMs: number; maxWaitMs: number },
): Promise<{ busy: number; waitedMs: number }> {
  const started = performance.now();
  let busy = await busyShare(options.windowMs);
  while (busy > options.maxBusy && performance.now() - started < options.maxWaitMs) {
    busy = await busyShare(options.windowMs);
  }
  return { busy, waitedMs: performance.now() - started };
}
