/**
 * `GET /`: the status page. One self-contained HTML document, no build step and no external
 * assets (the Content-Security-Policy forbids them): inline CSS, and a few lines of inline JS
 * that fetch `api/status?format=json` every 2 s, fill in the figures and draw the history as
 * SVG sparklines. Missing figures (null, absent, a failed fetch) show as "–"; the script never
 * assumes a field exists. Text from the service (error messages) is set as text, never as HTML.
 *
 * Elements carry `data-figure="<path in the JSON>"` and `data-chart="<history series>"`, which
 * is also what the browser test reads. Past 100 lines because it is a document, not logic.
 */

const STYLE = `
:root { color-scheme: light dark; --fg: #1d2330; --muted: #667085; --bg: #f6f7f9; --card: #fff;
  --line: #d0d5dd; --accent: #2f6fde; --ok: #148a4b; --bad: #c0392b; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6e8ec; --muted: #98a2b3; --bg: #111418;
  --card: #1a1f26; --line: #2c333d; --accent: #6ea3ff; --ok: #3ccf7f; --bad: #ff6b5e; } }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.4 system-ui, sans-serif; background: var(--bg); color: var(--fg); }
header { display: flex; flex-wrap: wrap; gap: .5rem 1.5rem; align-items: baseline;
  padding: 1rem 1.5rem; border-bottom: 1px solid var(--line); }
header h1 { font-size: 1.2rem; margin: 0; }
header span { color: var(--muted); }
main { display: grid; gap: 1rem; padding: 1rem 1.5rem;
  grid-template-columns: repeat(auto-fill, minmax(300px, 1fr)); }
section { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: .75rem 1rem; }
section.wide { grid-column: 1 / -1; }
h2 { font-size: .8rem; text-transform: uppercase; letter-spacing: .05em; color: var(--muted); margin: 0 0 .5rem; }
dl { display: grid; grid-template-columns: max-content minmax(0, 1fr); gap: .2rem 1rem; margin: 0; }
dt { color: var(--muted); }
dd { margin: 0; text-align: right; font-variant-numeric: tabular-nums; overflow-wrap: anywhere; }
.badge { font-weight: 600; }
.badge.ok { color: var(--ok); }
.badge.bad { color: var(--bad); }
.charts { display: grid; gap: .75rem; grid-template-columns: repeat(auto-fill, minmax(220px, 1fr)); }
.chart .top { display: flex; justify-content: space-between; }
.chart svg { width: 100%; height: 48px; display: block; border-bottom: 1px solid var(--line); }
.chart path { fill: none; stroke: var(--accent); stroke-width: 1.5; vector-effect: non-scaling-stroke; }
.chart .max { color: var(--muted); font-size: .75rem; }
table { width: 100%; border-collapse: collapse; }
td { padding: .25rem .5rem .25rem 0; vertical-align: top; border-top: 1px solid var(--line); }
td.time, td.component { white-space: nowrap; color: var(--muted); }
td.message { font-family: ui-monospace, monospace; word-break: break-word; }
.empty { color: var(--muted); }
`;

/** [figure path, label, format] per section. */
type Row = readonly [string, string, "count" | "bytes" | "seconds" | "text"];

const SECTIONS: ReadonlyArray<readonly [string, readonly Row[]]> = [
  ["Postgres", [
    ["postgres.state", "Connection", "text"],
    ["postgres.slot", "Replication slot", "text"],
    ["postgres.replication_lag_bytes", "Replication lag", "bytes"],
    ["postgres.replication_lag_seconds", "Replication lag (time)", "seconds"],
    ["postgres.transactions_received_total", "Transactions received", "count"],
    ["postgres.wal_window_bytes", "WAL window", "bytes"],
    ["postgres.wal_window_limit_bytes", "WAL window limit", "bytes"],
    ["postgres.transaction_cache_bytes", "Transaction cache", "bytes"],
    ["postgres.transaction_cache_limit_bytes", "Transaction cache limit", "bytes"],
  ]],
  ["Clients", [
    ["clients.connected", "Connected", "count"],
    ["clients.authenticated", "Authenticated", "count"],
    ["clients.subscriptions", "Subscriptions", "count"],
    ["clients.shapes", "Shapes", "count"],
    ["clients.transactions_applied_total", "Client transactions applied", "count"],
    ["clients.transactions_refused_total", "Client transactions refused", "count"],
  ]],
  ["Sent to clients", [
    ["sent.rows_total", "Rows", "count"],
    ["sent.rows_initial_total", "Rows, initial sync", "count"],
    ["sent.rows_live_total", "Rows, live", "count"],
    ["sent.transactions_total", "Transactions", "count"],
    ["sent.bytes_total", "Bytes", "bytes"],
  ]],
  ["Migrations proxy and process", [
    ["proxy.sessions", "Proxy sessions", "count"],
    ["proxy.migrations_captured_total", "Migrations captured", "count"],
    ["process.resident_memory_bytes", "Resident memory", "bytes"],
    ["process.heap_used_bytes", "Heap used", "bytes"],
    ["process.event_loop_delay_seconds", "Event loop delay", "seconds"],
  ]],
];

/** [history series, label, format of its values]. */
const CHARTS: ReadonlyArray<readonly [string, string, "rate" | "bytes" | "count"]> = [
  ["rows_per_second", "Rows sent /s", "rate"],
  ["transactions_in_per_second", "Transactions in /s", "rate"],
  ["transactions_out_per_second", "Transactions out /s", "rate"],
  ["bytes_per_second", "Bytes sent /s", "bytes"],
  ["client_transactions_per_second", "Client transactions /s", "rate"],
  ["clients_connected", "Clients connected", "count"],
];

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function section(title: string, rows: readonly Row[]): string {
  const items = rows.map(([path, label, format]) =>
    `<dt>${escapeHtml(label)}</dt><dd data-figure="${path}" data-format="${format}">–</dd>`
  ).join("");
  return `<section><h2>${escapeHtml(title)}</h2><dl>${items}</dl></section>`;
}

function chart([key, label, format]: (typeof CHARTS)[number]): string {
  return `<div class="chart"><div class="top"><span>${escapeHtml(label)}</span>` +
    `<span data-figure="rates.${key}" data-format="${format}">–</span></div>` +
    `<svg data-chart="${key}" viewBox="0 0 100 40" preserveAspectRatio="none" role="img" ` +
    `aria-label="${escapeHtml(label)}"><path d=""/></svg>` +
    `<span class="max" data-chart-max="${key}" data-format="${format}"></span></div>`;
}

/** Runs in the browser: keep it plain ES2020 and independent of the server's modules. */
const SCRIPT = `
"use strict";
const DASH = "\\u2013";
const PERIOD_MS = 2000;
let refreshes = 0;

function lookup(doc, path) {
  let value = doc;
  for (const key of path.split(".")) {
    if (value === null || typeof value !== "object") return undefined;
    value = value[key];
  }
  return value;
}

function show(value, format) {
  if (format === "text") return typeof value === "string" && value !== "" ? value : DASH;
  if (typeof value !== "number" || !Number.isFinite(value)) return DASH;
  if (format === "bytes") {
    const units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let v = value, i = 0;
    while (Math.abs(v) >= 1024 && i < units.length - 1) { v /= 1024; i++; }
    return (i === 0 ? String(Math.round(v)) : v.toFixed(1)) + " " + units[i];
  }
  if (format === "seconds") return value < 1 ? (value * 1000).toFixed(1) + " ms" : value.toFixed(2) + " s";
  if (format === "rate") return value.toFixed(value >= 100 ? 0 : 2);
  return Math.round(value).toLocaleString("en-US");
}

function uptime(seconds) {
  if (typeof seconds !== "number") return DASH;
  const d = Math.floor(seconds / 86400), h = Math.floor(seconds / 3600) % 24;
  const m = Math.floor(seconds / 60) % 60, s = Math.floor(seconds % 60);
  return (d ? d + "d " : "") + (d || h ? h + "h " : "") + (d || h || m ? m + "m " : "") + s + "s";
}

function sparkline(svg, values) {
  const path = svg.querySelector("path");
  const list = Array.isArray(values) ? values : [];
  const known = list.filter((v) => typeof v === "number" && Number.isFinite(v));
  const max = known.length ? Math.max(...known, 0) : 0;
  const scale = max > 0 ? max : 1;
  let d = "", pen = false;
  list.forEach((v, i) => {
    if (typeof v !== "number" || !Number.isFinite(v)) { pen = false; return; }
    const x = list.length > 1 ? (i / (list.length - 1)) * 100 : 100;
    const y = 39 - (Math.max(v, 0) / scale) * 37;
    d += (pen ? "L" : "M") + x.toFixed(2) + " " + y.toFixed(2);
    pen = true;
  });
  path.setAttribute("d", d);
  return known.length ? max : undefined;
}

function errors(list) {
  const body = document.getElementById("errors");
  body.replaceChildren();
  const entries = Array.isArray(list) ? list : [];
  document.getElementById("no-errors").hidden = entries.length > 0;
  for (const entry of entries) {
    const row = document.createElement("tr");
    for (const [cls, text] of [["time", entry && entry.time], ["component", entry && entry.component],
      ["message", entry && entry.message]]) {
      const cell = document.createElement("td");
      cell.className = cls;
      cell.textContent = typeof text === "string" && text !== "" ? text : DASH;
      row.append(cell);
    }
    body.append(row);
  }
}

function render(doc) {
  for (const el of document.querySelectorAll("[data-figure]")) {
    el.textContent = show(lookup(doc, el.dataset.figure), el.dataset.format);
  }
  const series = lookup(doc, "history.series") || {};
  for (const svg of document.querySelectorAll("svg[data-chart]")) {
    const max = sparkline(svg, series[svg.dataset.chart]);
    const label = document.querySelector('[data-chart-max="' + svg.dataset.chart + '"]');
    if (label) label.textContent = max === undefined ? "" : "max " + show(max, label.dataset.format);
  }
  const state = lookup(doc, "postgres.state");
  const badge = document.getElementById("state");
  badge.textContent = state === "ready" ? "Postgres connected" : "Postgres " + (state || DASH);
  badge.className = "badge " + (state === "ready" ? "ok" : "bad");
  document.getElementById("version").textContent = show(lookup(doc, "version"), "text");
  document.getElementById("instance").textContent = show(lookup(doc, "instance_id"), "text");
  document.getElementById("uptime").textContent = uptime(lookup(doc, "uptime_seconds"));
  errors(lookup(doc, "recent_errors"));
}

async function refresh() {
  try {
    const response = await fetch("api/status?format=json", {
      headers: { accept: "application/json" }, cache: "no-store",
    });
    render(await response.json());
    document.getElementById("updated").textContent = new Date().toLocaleTimeString();
  } catch (error) {
    const badge = document.getElementById("state");
    badge.textContent = "Service unreachable";
    badge.className = "badge bad";
  } finally {
    document.body.dataset.refreshes = String(++refreshes);
    setTimeout(refresh, PERIOD_MS);
  }
}

refresh();
`;

export const STATUS_PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Electric status</title>
<link rel="icon" href="data:,">
<style>${STYLE}</style>
</head>
<body data-refreshes="0">
<header>
<h1>Electric</h1>
<span class="badge" id="state">–</span>
<span>version <b id="version">–</b></span>
<span>instance <b id="instance">–</b></span>
<span>up <b id="uptime">–</b></span>
<span>updated <b id="updated">–</b></span>
</header>
<main>
${SECTIONS.map(([title, rows]) => section(title, rows)).join("\n")}
<section class="wide"><h2>Throughput, last minutes</h2><div class="charts">
${CHARTS.map(chart).join("\n")}
</div></section>
<section class="wide"><h2>Recent errors</h2>
<p class="empty" id="no-errors">None since the service started.</p>
<table><tbody id="errors"></tbody></table></section>
</main>
<script>${SCRIPT}</script>
</body>
</html>
`;

/** Nothing but this document's inline parts and requests to the service itself. */
export const STATUS_PAGE_CSP = [
  "default-src 'none'",
  "script-src 'unsafe-inline'",
  "style-src 'unsafe-inline'",
  "connect-src 'self'",
  "img-src data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");
