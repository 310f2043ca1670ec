/**
 * The composition root: reads the configuration, builds every part by passing dependencies
 * in, starts them, and stops them in order on SIGINT/SIGTERM. Nothing else in the service
 * creates long-lived parts or reads the process environment.
 *
 * Exit status: 0 after an orderly shutdown (and for `--help`, `--version`); 1 for bad
 * configuration, a port already in use, or a database the service cannot work with (each
 * explained in a banner on stderr); 2 for a command line it does not understand.
 */
import { createAuthenticator } from "./auth/mod.ts";
import { type Config, type ConfigProblem, loadConfig } from "./config/mod.ts";
import { parseCommandLine, USAGE_EXIT, usageText, versionText } from "./cli.ts";
import { devBanner } from "./dev_banner.ts";
import { prepareDevEnvironment } from "./dev_mode.ts";
import type { RunningCluster } from "./embedded/mod.ts";
import { createApp, migrationsHandler } from "./http/mod.ts";
import { CatalogHolder, catalogStep, migrationListener } from "./migrations/mod.ts";
import {
  InMemoryTransactionLog,
  type ReplicationReader,
  replicationStep,
  retainedWindowStart,
} from "./replication/mod.ts";
import { findTable } from "./schema/mod.ts";
import {
  ClientRegistry,
  Inbound,
  satelliteHandler,
  SatelliteMetrics,
  SharedFrames,
} from "./satellite/mod.ts";
import {
  PostgresClientStore,
  PostgresMembershipStore,
  ShapeHub,
  ShapeStateMaintenance,
  Visibility,
} from "./sync/mod.ts";
import { Permissions } from "./permissions/mod.ts";
import { type ClientWriter, DirectWriter } from "./writes/mod.ts";
import { MigrationsProxy, proxyTunnelHandler } from "./proxy/mod.ts";
import {
  LogicalPublisher,
  PostgresPublisherCatalog,
  publisherWriter,
  subscriptionRefresher,
  subscriptionStep,
} from "./publisher/mod.ts";
import { delay, Limiter, type Service, withTimeout } from "./lifecycle/mod.ts";
import { loadRuntime, type Runtime } from "./runtime/mod.ts";
import {
  backoffDelayMs,
  type ConnectorFatal,
  instanceNames,
  instanceStep,
  ORIGIN,
  PostgresConnector,
} from "./storage/mod.ts";
import {
  configurationErrorBody,
  createLogger,
  formatBanner,
  type Logger,
  MetricsRegistry,
  RecentErrors,
  recordErrors,
  RuntimeMetrics,
  StatsdReporter,
  StatusHistory,
  TelemetryReporter,
} from "./telemetry/mod.ts";
import { ELECTRIC_VERSION } from "./version.ts";

const SHUTDOWN_GRACE_MS = 5_000;
/** Client snapshot readers at once; the pool has room for them and for writes and magic writes. */
const SNAPSHOT_READERS = 4;
/** Shape groups' own move-in reads at once (apart: client reads may wait on groups). */
const MOVE_IN_READERS = 2;

/** Banners explain why the service stops: they go to stderr, with the errors. */
function printBanner(title: string, body: string[]): void {
  console.error(formatBanner(title, body));
}

function reportConfigProblems(problems: ConfigProblem[]): void {
  const required = problems.filter((p) => p.group === "required").map((p) => p.message);
  const sizes = problems.filter((p) => p.group === "size").map((p) => p.message);
  const fatal = problems.filter((p) => p.group === "fatal").map((p) => p.message);
  const intro = (kind: string) => `The following ${kind} have invalid or missing values:`;
  if (required.length > 0) {
    printBanner(
      "CONFIGURATION ERROR",
      configurationErrorBody(intro("required configuration options"), required),
    );
  }
  const rest = [...sizes, ...fatal];
  if (rest.length > 0) {
    printBanner(
      "CONFIGURATION ERROR",
      configurationErrorBody(intro("configuration options"), rest),
    );
  }
  console.error("••• Shutting down •••\n");
}

function reportConnectorFatal(fatal: ConnectorFatal): void {
  if (fatal.code === "HOST_NOT_RESOLVED") {
    printBanner("CONNECTION ERROR", [fatal.message, "", fatal.hint]);
    return;
  }
  const body: string[] = [];
  for (const problem of fatal.problems) body.push(problem.message, "", problem.hint, "");
  printBanner("DATABASE CONFIGURATION ERROR", body);
}

async function main(runtime: Runtime): Promise<number> {
  const command = parseCommandLine(runtime.args());
  if (command.kind === "help") {
    console.log(usageText());
    return 0;
  }
  if (command.kind === "version") {
    console.log(versionText(runtime.name));
    return 0;
  }
  if (command.kind === "refused") {
    console.error(`electric: ${command.message}\n\n${usageText()}`);
    return USAGE_EXIT;
  }
  const devMode = command.dev;
  let env = runtime.env();
  let cluster: RunningCluster | undefined;
  if (devMode) {
    const prepared = await prepareDevEnvironment(env);
    if (!prepared.ok) {
      printBanner("INITIALISATION ERROR", [prepared.error.message, "", prepared.error.hint ?? ""]);
      return 1;
    }
    env = prepared.env;
    cluster = prepared.cluster;
  }
  try {
    const loaded = loadConfig(env);
    if (!loaded.ok) {
      reportConfigProblems(loaded.problems);
      return 1;
    }
    return await serve(runtime, loaded.config, { devMode, cluster });
  } finally {
    await cluster?.stop();
  }
}

async function serve(
  runtime: Runtime,
  config: Readonly<Config>,
  dev: { devMode: boolean; cluster?: RunningCluster },
): Promise<number> {
  // Error lines are also kept for the status page (the last 20).
  const recentErrors = new RecentErrors();
  const logger = recordErrors(
    createLogger({ level: config.logLevel, format: config.logFormat }),
    recentErrors,
  );
  // The one metrics registry: parts register what they count, outputs read snapshots. With
  // ELECTRIC_METRICS=false no part gets it and nothing reads it (the Satellite side counts
  // into a registry no one reads: a property increment per frame).
  const registry = new MetricsRegistry();
  const metrics = config.metricsEnabled ? registry : undefined;
  logger.info(
    `Starting ElectricSQL ${ELECTRIC_VERSION} in ${config.writeMode} mode on ${runtime.name} (instance ${config.instanceId}).`,
  );
  // A failure that escaped its handler must not take down every client with it; it is a bug
  // to log and fix, while the part that owned it recovers through its own retry loop.
  runtime.onUncaughtError((error) =>
    logger.error(`Unhandled failure: ${(error as Error)?.message ?? String(error)}`)
  );
  const shutdown = new AbortController();
  let exitCode = 0;
  const fail = () => {
    exitCode = 1;
    shutdown.abort();
  };

  const pgLogger = logger.child({ component: "postgres", origin: ORIGIN });
  // Slots, persisted position and subscription: named after ELECTRIC_INSTANCE_ID when set.
  const names = instanceNames(
    config.database.database,
    config.instanceIdFixed ? config.instanceId : undefined,
  );
  const catalogs = new CatalogHolder();
  const log = new InMemoryTransactionLog({ maxBytes: config.txnCacheSize, metrics });
  // Streamed transactions other sessions may not see yet; heard first, before anyone acts on one.
  const visibility = new Visibility({ logger: logger.child({ component: "visibility" }) });
  log.subscribe((tx) => visibility.observe(tx));
  // The reader of the current replication stream, for the lag metric's WAL positions.
  let reader: ReplicationReader | undefined;
  // In logical_replication mode the service is the publisher Postgres subscribes to.
  const publisherLogger = logger.child({ component: "publisher" });
  const publisherCatalog = new PostgresPublisherCatalog(() => connector.pool);
  let publisher: LogicalPublisher | undefined;
  if (config.writeMode === "logical_replication") {
    publisher = new LogicalPublisher({
      port: config.logicalPublisher.port,
      hostname: config.listenIpv6 ? "::" : "0.0.0.0",
      catalog: publisherCatalog,
      logger: publisherLogger,
      serverVersion: `electric-${ELECTRIC_VERSION}`,
      systemId: config.instanceId,
      // Postgres' apply worker introduces itself with its subscription's name.
      originReady: (name) => name === names.subscription,
    });
    const listened = await publisher.listen();
    if (!listened.ok) {
      printBanner("INITIALISATION ERROR", [
        `Failed to open a socket to listen for logical replication connections on port ${config.logicalPublisher.port}.`,
        "",
        listened.error.code === "ADDRESS_IN_USE"
          ? "Another process is using this port. Stop it, or set LOGICAL_PUBLISHER_PORT to a free port."
          : listened.error.message,
      ]);
      return 1;
    }
    publisherLogger.info(`Logical replication publisher listening on port ${listened.port}.`);
  }
  // Positions are persisted only once migrations up to them are applied (see migrationListener).
  const migrations = migrationListener({ catalogs, sql: () => connector.pool, logger: pgLogger });
  const connector: PostgresConnector = new PostgresConnector({
    database: config.database,
    writeMode: config.writeMode,
    logger: pgLogger,
    steps: [
      catalogStep(catalogs),
      instanceStep({
        names,
        instanceId: config.instanceId,
        writeMode: config.writeMode,
        expiryMs: config.instanceExpiryMs,
        logger: pgLogger,
      }),
      replicationStep({
        log,
        names,
        logger: pgLogger,
        windowBytes: config.resumableWalWindow,
        retainedBytes: config.txnCacheSize,
        settled: () => migrations.settled(),
        primaryKey: (schema, table) =>
          catalogs.get() && findTable(catalogs.get()!.current(), schema, table)?.primaryKey,
        metrics,
        onStarted: (started) => reader = started,
      }),
      subscriptionStep({
        writeMode: config.writeMode,
        target: config.logicalPublisher.host
          ? {
            host: config.logicalPublisher.host,
            port: config.logicalPublisher.port,
            name: names.subscription,
          }
          : undefined,
        name: names.subscription,
        listening: publisher ? () => publisher!.listen() : undefined,
        secret: publisher ? (password) => publisher!.setPassword(password) : undefined,
        catalog: publisherCatalog,
        logger: publisherLogger,
      }),
    ],
    onFatal: (fatal) => {
      reportConnectorFatal(fatal);
      fail();
    },
    onConnectionError: (failure) =>
      printBanner("CONNECTION ERROR", [
        `Failed to connect to Postgres: ${failure.message}`,
        ...(failure.hint ? ["", failure.hint] : []),
        "",
        "Electric keeps retrying; /api/status answers 503 until the connection is up.",
      ]),
    metrics,
  });

  log.subscribe(migrations);

  const services: Service[] = [connector];
  let writer: ClientWriter | undefined;
  if (publisher) {
    services.push(publisher);
    writer = publisherWriter(publisher);
    // Newly electrified tables must reach the subscription too.
    const refresh = subscriptionRefresher({
      sql: () => connector.pool,
      catalog: publisherCatalog,
      logger: publisherLogger,
      name: names.subscription,
    });
    catalogs.whenSet((catalog) => catalog.onMigration(() => refresh()));
  } else if (config.writeMode === "direct_writes") {
    const direct = new DirectWriter({
      pool: () => connector.pool,
      logger: logger.child({ component: "writer" }),
    });
    services.push(direct);
    writer = direct;
  }
  const proxyLogger = logger.child({ component: "proxy" });
  const proxy = new MigrationsProxy({
    config,
    logger: proxyLogger,
    ready: () => connector.whenReady(1_000),
    metrics,
    schema: () => catalogs.get()?.current(),
    // Read your own migration: a COMMIT through the proxy returns once the catalog has it.
    migrationKnown: async (txid, timeoutMs) => {
      const catalog = await catalogs.wait(timeoutMs);
      return catalog !== undefined &&
        (await catalog.whenTxid(BigInt(txid), timeoutMs)) !== undefined;
    },
  });
  // A busy proxy port is not fatal (as in the reference): say so once and keep trying.
  services.push({
    name: "migrations proxy",
    async run(signal) {
      for (let attempt = 0; !signal.aborted; attempt++) {
        try {
          return await proxy.run(signal);
        } catch (error) {
          if ((error as { code?: string }).code !== "ADDRESS_IN_USE") throw error;
          if (attempt === 0) {
            printBanner("CONNECTION ERROR", [
              `Failed to open a socket to listen for TCP connections on port ${config.proxy.port}.`,
              "",
              "Another process is using this port. Electric keeps retrying; set PG_PROXY_PORT to use another.",
            ]);
          }
          await delay(backoffDelayMs(attempt), signal);
        }
      }
    },
  });
  const tunnel = proxyTunnelHandler(runtime, { port: config.proxy.port, logger: proxyLogger });
  const satelliteLogger = logger.child({ component: "satellite" });
  const hub = new ShapeHub({
    log,
    pool: () => connector.pool,
    store: new PostgresMembershipStore(() => connector.pool),
    moveInReads: new Limiter(MOVE_IN_READERS),
    clientReads: new Limiter(SNAPSHOT_READERS),
    visibility,
    logger: satelliteLogger,
    metrics,
  });
  const clientStore = new PostgresClientStore(() => connector.pool, {
    onError: (error) =>
      satelliteLogger.warning(
        `Could not save client positions: ${(error as Error)?.message ?? error}`,
      ),
  });
  services.push(
    new ShapeStateMaintenance({
      sql: () => connector.pool,
      hub,
      windowStart: async () => {
        const sql = connector.pool;
        return sql ? await retainedWindowStart(sql, names.mainSlot) : undefined;
      },
      logger: satelliteLogger,
    }),
  );
  // Who reads and writes what (DDLX GRANT/ASSIGN), kept current from the stream.
  const permissions = new Permissions({
    pool: () => connector.pool,
    model: () => catalogs.get()?.current(),
    logger: logger.child({ component: "permissions" }),
    visibility,
  });
  log.subscribe((tx) => permissions.observe(tx));
  const clients = new ClientRegistry();
  const satelliteMetrics = new SatelliteMetrics(registry, {
    log,
    authenticated: () => clients.liveCount(),
    wal: () => reader?.walPositions(),
  });
  const satellite = satelliteHandler(runtime, {
    logger: satelliteLogger,
    permissions,
    instanceId: config.instanceId,
    authenticator: createAuthenticator(config.auth),
    catalogs,
    log,
    pool: () => connector.pool,
    clients,
    hub,
    store: clientStore,
    frames: new SharedFrames(),
    metrics: satelliteMetrics,
    inbound: writer
      ? ({ clientId, logger: clientLogger, fail, track, refusal }) =>
        new Inbound({
          clientId,
          catalogs,
          writer: writer!,
          logger: clientLogger,
          fail,
          track,
          refusal,
          metrics: satelliteMetrics,
        })
      : undefined,
  });
  // The status page's charts: a snapshot every METRICS_MEASUREMENT_PERIOD, 10 minutes kept.
  const statusHistory = new StatusHistory({
    snapshot: () => metrics?.snapshot() ?? [],
    intervalMs: config.metricsPeriodMs,
  });
  if (metrics) services.push(statusHistory);
  const app = createApp({
    logger: logger.child({ component: "http" }),
    connectorState: () => connector.status().state,
    proxyTunnelEnabled: config.proxy.httpTunnel,
    metrics,
    status: {
      version: ELECTRIC_VERSION,
      instanceId: config.instanceId,
      runtime: runtime.name,
      startedAt: performance.timeOrigin,
      slot: names.mainSlot,
      metrics,
      history: statusHistory,
      recentErrors,
    },
    mounts: {
      migrations: migrationsHandler({ catalog: (ms) => catalogs.wait(ms) }),
      ws: (c) => satellite(c.req.raw),
      proxy: (c) => tunnel(c.req.raw),
    },
  });
  const served = runtime.serve({
    port: config.httpPort,
    hostname: config.listenIpv6 ? "::" : "0.0.0.0",
    fetch: app.fetch,
  });
  if (!served.ok) {
    printBanner("INITIALISATION ERROR", [
      `Failed to open a socket to listen for HTTP/WebSocket connections on port ${config.httpPort}.`,
      "",
      served.error.code === "ADDRESS_IN_USE"
        ? "Another process is using this port. Stop it, or set HTTP_PORT to a free port."
        : served.error.message,
    ]);
    return 1;
  }
  const http = served.server;
  logger.info(`HTTP API and WebSocket listening on port ${http.port}.`);

  if (config.telemetry.enabled && config.telemetry.endpoint) {
    services.push(
      new TelemetryReporter({
        endpoint: config.telemetry.endpoint,
        instanceId: config.instanceId,
        version: ELECTRIC_VERSION,
        logger: logger.child({ component: "telemetry" }),
      }),
    );
  }
  if (metrics) {
    services.push(new RuntimeMetrics({ registry: metrics, periodMs: config.metricsPeriodMs }));
  }
  if (metrics && config.statsdHost) {
    services.push(
      new StatsdReporter({
        registry: metrics,
        target: config.statsdHost,
        instanceId: config.instanceId,
        logger: logger.child({ component: "statsd" }),
        periodMs: config.metricsPeriodMs,
      }),
    );
  }
  const running = services.map((service) =>
    service.run(shutdown.signal).catch((error) => {
      logger.error(`The ${service.name} stopped unexpectedly: ${(error as Error).message}`);
      fail();
    })
  );

  // Installed for the rest of the process: a second SIGINT (`deno task` forwards the terminal's
  // Ctrl-C to its child, which the process group got already) must not kill the stop midway,
  // nor dev mode's stop of its local Postgres after this function returns.
  runtime.onShutdownSignal((signal) => {
    if (shutdown.signal.aborted) return;
    logger.info(`Received ${signal}, shutting down.`);
    shutdown.abort();
  });
  if (dev.devMode) void announceDevUrls(connector, proxy.listening, config, logger, dev.cluster);

  await new Promise<void>((resolve) =>
    shutdown.signal.addEventListener("abort", () => resolve(), { once: true })
  );
  await withTimeout(http.close(), SHUTDOWN_GRACE_MS, undefined);
  hub.stop();
  await withTimeout(clientStore.flush(), SHUTDOWN_GRACE_MS, undefined);
  clientStore.stop();
  const stopped = await withTimeout(Promise.all(running), SHUTDOWN_GRACE_MS, "timeout" as const);
  if (stopped === "timeout") logger.warning("Some parts did not stop in time; exiting anyway.");
  logger.info("Stopped.");
  return exitCode;
}

async function announceDevUrls(
  connector: PostgresConnector,
  proxyListening: Promise<void>,
  config: Readonly<Config>,
  logger: Logger,
  cluster?: RunningCluster,
): Promise<void> {
  if (!(await connector.whenReady(60_000))) return;
  // The banner is the last start-up line: the proxy it tells you to use is listening by then
  // (unless its port is busy, which was said already).
  await Promise.race([proxyListening, delay(2_000)]);
  const lines = devBanner({ config, cluster });
  for (const line of lines) logger.info(line);
}

const runtime = await loadRuntime();
runtime.exit(await main(runtime));
