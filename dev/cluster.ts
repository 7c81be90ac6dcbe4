/**
 * The production topology of docker-compose.yml, run natively on loopback (`npm run cluster`, and
 * `npm run test:cluster` puts it through faults): PostgreSQL from the machine's packages; the Temporal
 * server built from go.temporal.io/server, configured by the same temporal-server.yaml and
 * temporal-dynamic-config.yaml that compose mounts, on schemas set up by its schema tool; the namespace
 * and search attributes registered; the Web UI server; the codec server; two workers and two API
 * instances as their own processes; and the sandbox stand-ins for the providers. Each part is stopped
 * in order (APIs first, PostgreSQL last), also when start-up fails halfway.
 */
import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Client, Connection, isGrpcServiceError } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time.js';
import { status as GrpcStatus } from '@grpc/grpc-js';
import proto from '@temporalio/proto';
import { STRIPE_WEBHOOK_PATH } from '../src/api/app.js';
import { DEFAULT_NAMESPACE, DEFAULT_TASK_QUEUE } from '../src/config/temporal.js';
import { ORDER_SEARCH_ATTRIBUTES } from '../src/domain/search-attributes.js';
import { loadWorkerBuildId, makeCurrentVersion, WORKER_DEPLOYMENT_NAME } from '../src/worker/deployment.js';
import {
  acceptsConnections,
  findPostgres,
  initPostgres,
  queryValue,
  spawnPostgres,
  type PostgresBinaries,
  type PostgresOptions,
} from './postgresql.js';
import {
  answersOk,
  API,
  CODEC_SERVER,
  freePorts,
  hasExited,
  isPortFree,
  spawnProcess,
  startProjectProcess,
  stopProcess,
  waitUntil,
  WORKER,
  type StartedProcess,
} from './processes.js';
import type { Sandbox } from './sandbox/index.js';
import { LocalStack } from './stack.js';
import { DYNAMIC_CONFIG_PATH } from './dynamic-config.js';
import { answersGrpc } from './temporal-server.js';
import { ensureModuleFiles, ensureTool, TEMPORAL_SERVER, TEMPORAL_SQL_TOOL, TEMPORAL_UI_SERVER, type FoundTool } from './tools.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const run = promisify(execFile);
const { IndexedValueType } = proto.temporal.api.enums.v1;

/** The server's configuration, in the project root: docker-compose.yml mounts it and the dynamic config. */
export const SERVER_CONFIG_FILE = 'temporal-server.yaml';
/** `--env` of temporal-server: it reads `<config dir>/<env>.yaml`. */
export const SERVER_CONFIG_ENV = SERVER_CONFIG_FILE.replace(/\.yaml$/, '');
/**
 * temporal-server's command line, as compose runs it too: the config folder (relative to `root`) holds
 * temporal-server.yaml. No authorizer: the cluster listens on loopback only (compose: its own network).
 */
export const SERVER_ARGS = (root: string, configDir: string): string[] => [
  '--allow-no-auth',
  '--root',
  root,
  '--config',
  configDir,
  '--env',
  SERVER_CONFIG_ENV,
  'start',
];
/** The two databases and the schemas embedded in the schema tool (`--schema-name`). */
export const TEMPORAL_DATABASES = [
  { database: 'temporal', schemaName: 'postgresql/v12/temporal' },
  { database: 'temporal_visibility', schemaName: 'postgresql/v12/visibility' },
] as const;
/** How long closed runs stay in the namespace, as compose's temporal-setup registers it. */
export const NAMESPACE_RETENTION_HOURS = 72;
/** The superuser Temporal connects as: compose's POSTGRES_USER and its default password. */
const POSTGRES_USER = 'temporal';
const POSTGRES_PASSWORD = 'temporal';

/** The server's ports, by the variable of temporal-server.yaml that sets each. */
export const SERVER_PORT_VARIABLES = [
  'FRONTEND_GRPC_PORT',
  'FRONTEND_HTTP_PORT',
  'FRONTEND_MEMBERSHIP_PORT',
  'HISTORY_GRPC_PORT',
  'HISTORY_MEMBERSHIP_PORT',
  'MATCHING_GRPC_PORT',
  'MATCHING_MEMBERSHIP_PORT',
  'WORKER_GRPC_PORT',
  'WORKER_MEMBERSHIP_PORT',
] as const;
type ServerPorts = Record<(typeof SERVER_PORT_VARIABLES)[number], number>;

export interface ClusterPorts {
  postgres: number;
  server: ServerPorts;
  ui: number;
  codec: number;
  /** One per API instance, and their metrics endpoints. */
  apis: number[];
  apiMetrics: number[];
  /** One metrics endpoint per worker. */
  workerMetrics: number[];
}

/**
 * `npm run cluster`'s ports: a range of their own (PostgreSQL 55432, Temporal 17233, Web UI 18080,
 * APIs 13001-13002), so the cluster runs beside `npm start` (7233, 8233, 3000) and the tests.
 */
export const DEFAULT_CLUSTER_PORTS: ClusterPorts = {
  postgres: 55432,
  server: {
    FRONTEND_GRPC_PORT: 17233,
    FRONTEND_HTTP_PORT: 17243,
    FRONTEND_MEMBERSHIP_PORT: 16933,
    HISTORY_GRPC_PORT: 17234,
    HISTORY_MEMBERSHIP_PORT: 16934,
    MATCHING_GRPC_PORT: 17235,
    MATCHING_MEMBERSHIP_PORT: 16935,
    WORKER_GRPC_PORT: 17239,
    WORKER_MEMBERSHIP_PORT: 16939,
  },
  ui: 18080,
  codec: 18888,
  apis: [13001, 13002],
  apiMetrics: [19465, 19466],
  workerMetrics: [19464, 19467],
};

/**
 * Free ports for the server, one block of consecutive ones below 32768: Temporal stores membership
 * ports as a PostgreSQL smallint, so the ephemeral ports `freePorts` hands out do not fit.
 */
async function freeServerPorts(): Promise<ServerPorts> {
  for (;;) {
    const base = 20_000 + Math.floor(Math.random() * 1_200) * 10;
    const ports = SERVER_PORT_VARIABLES.map((_, index) => base + index);
    if ((await Promise.all(ports.map(isPortFree))).every(Boolean)) {
      return Object.fromEntries(SERVER_PORT_VARIABLES.map((name, index) => [name, ports[index]])) as ServerPorts;
    }
  }
}

/** Every port free and different, for a cluster beside anything else (the cluster test). */
export async function freeClusterPorts(): Promise<ClusterPorts> {
  const ports = await freePorts(9);
  const take = (count: number) => ports.splice(0, count);
  const [postgres, ui, codec] = take(3);
  return { postgres, server: await freeServerPorts(), ui, codec, apis: take(2), apiMetrics: take(2), workerMetrics: take(2) };
}

/** The variables of temporal-server.yaml the native cluster sets (compose sets its own values of the same). */
export function temporalServerVariables(ports: ClusterPorts, historyShards?: number): Record<string, string> {
  return {
    ...(historyShards !== undefined && { NUM_HISTORY_SHARDS: String(historyShards) }),
    POSTGRES_SEEDS: '127.0.0.1',
    DB_PORT: String(ports.postgres),
    POSTGRES_USER,
    POSTGRES_PWD: POSTGRES_PASSWORD,
    BIND_ON_IP: '127.0.0.1',
    TEMPORAL_BROADCAST_ADDRESS: '127.0.0.1',
    DYNAMIC_CONFIG_FILE_PATH: DYNAMIC_CONFIG_PATH,
    LOG_LEVEL: 'warn',
    ...Object.fromEntries(Object.entries(ports.server).map(([name, port]) => [name, String(port)])),
  };
}

export interface ClusterOptions {
  /** PostgreSQL's data lives in `<dataDir>/postgresql`: the cluster's runs survive a restart. */
  dataDir: string;
  ports: ClusterPorts;
  /** The key every worker, API and the codec server share. */
  codecKeys: string;
  apiKey: string;
  webhookSecret: string;
  /** LOG_LEVEL of the workers, the APIs and the codec server; the Temporal server logs warnings and up. */
  logLevel: string;
  /** History shards of a new cluster (temporal-server.yaml's default otherwise); fixed once its database exists. */
  historyShards?: number;
  /** Extra variables of the API processes (the cluster test lifts the per-key rate limit). */
  apiEnv?: Record<string, string>;
  /** Each output line of a process, with its name ("worker 1", "temporal server"). */
  onLine?: (name: string, line: string) => void;
  /** A process that exited while nobody stopped it. */
  onUnexpectedExit?: (name: string, how: string) => void;
}

/** One part of the cluster that can be stopped and started again (a fault, a restart). */
class Part {
  current: StartedProcess | undefined;
  private expectedExit = false;

  constructor(
    readonly name: string,
    private readonly launch: () => StartedProcess,
    private readonly onUnexpectedExit: ((name: string, how: string) => void) | undefined,
    private readonly stopSignal: NodeJS.Signals = 'SIGTERM',
    private readonly stopGraceMs = 15_000,
  ) {}

  start(): StartedProcess {
    const started = this.launch();
    this.current = started;
    this.expectedExit = false;
    started.child.once('exit', (code, signal) => {
      if (this.current === started && !this.expectedExit) this.onUnexpectedExit?.(this.name, signal ?? `code ${code}`);
    });
    return started;
  }

  /** Its stop signal (then SIGKILL after the grace period), or SIGKILL at once for a crash. */
  async stop(signal: NodeJS.Signals = this.stopSignal): Promise<void> {
    const current = this.current;
    if (!current || hasExited(current.child)) return;
    this.expectedExit = true;
    await stopProcess(current.child, signal === 'SIGKILL' ? 0 : this.stopGraceMs, signal);
  }
}

export class Cluster {
  private readonly stack: LocalStack;
  readonly address: string;
  readonly apiUrls: string[];
  readonly uiUrl: string;
  readonly codecUrl: string;
  readonly workers: Part[] = [];
  readonly apis: Part[] = [];
  postgresRoute = '';
  serverRoute = '';
  uiRoute = '';
  sandbox: Sandbox | undefined;
  private postgres: Part | undefined;
  /** The codec server and the Web UI. */
  private readonly others: Part[] = [];
  private server: Part | undefined;
  private readonly postgresOptions: PostgresOptions;

  constructor(
    private readonly options: ClusterOptions,
    private readonly log: (message: string) => void = console.log,
  ) {
    this.stack = new LocalStack(log);
    this.address = `127.0.0.1:${options.ports.server.FRONTEND_GRPC_PORT}`;
    this.apiUrls = options.ports.apis.map((port) => `http://127.0.0.1:${port}`);
    this.uiUrl = `http://localhost:${options.ports.ui}`;
    this.codecUrl = `http://localhost:${options.ports.codec}`;
    this.postgresOptions = {
      dataDir: join(options.dataDir, 'postgresql'),
      port: options.ports.postgres,
      user: POSTGRES_USER,
      password: POSTGRES_PASSWORD,
    };
  }

  get postgresAddress(): string {
    return `127.0.0.1:${this.options.ports.postgres}`;
  }

  /** Starts every part in order; each waits for what it needs. */
  async start(): Promise<void> {
    const postgres = findPostgres();
    this.postgresRoute = postgres.route;
    const server = ensureTool(TEMPORAL_SERVER);
    this.serverRoute = server.route;
    const sqlTool = ensureTool(TEMPORAL_SQL_TOOL);
    const ui = ensureTool(TEMPORAL_UI_SERVER);
    this.uiRoute = ui.route;

    mkdirSync(this.options.dataDir, { recursive: true });
    // PostgreSQL runs as its own user when this is root: it must reach its folder inside this one.
    if (postgres.user.uid !== undefined) chmodSync(this.options.dataDir, 0o755);
    if (initPostgres(postgres, this.postgresOptions)) this.log(`PostgreSQL data folder created: ${this.postgresOptions.dataDir}`);
    this.postgres = this.part('postgresql', () => spawnPostgres(postgres, this.postgresOptions), 'SIGINT', 30_000);
    this.stack.add(() => this.postgres!.stop());
    await this.startPostgres(postgres);
    await this.setUpSchemas(sqlTool);

    this.server = this.part('temporal server', () => this.spawnServer(server));
    this.stack.add(() => this.server!.stop());
    await this.startTemporal();
    await this.registerNamespace();

    const codec = this.part('codec server', () => this.startCodecServer());
    this.stack.add(() => codec.stop());
    codec.start();
    const uiPart = this.part('web ui', () => this.spawnUi(ui));
    this.stack.add(() => uiPart.stop());
    uiPart.start();
    this.others.push(codec, uiPart);

    this.sandbox = await this.stack.startSandbox();
    for (const index of this.options.ports.workerMetrics.keys()) {
      const worker = this.part(`worker ${index + 1}`, () => this.spawnWorker(index));
      this.workers.push(worker);
      this.stack.add(() => worker.stop());
    }
    await Promise.all(this.workers.map((_, index) => this.startWorker(index)));
    await this.makeBuildCurrent();
    for (const index of this.options.ports.apis.keys()) {
      const api = this.part(`api ${index + 1}`, () => this.startApi(index));
      this.apis.push(api);
      this.stack.add(() => api.stop());
      api.start();
    }
    this.sandbox.stripe.sendWebhooksTo(`${this.apiUrls[0]}${STRIPE_WEBHOOK_PATH}`, this.options.webhookSecret);
    for (const [index, url] of this.apiUrls.entries()) {
      await waitUntil(() => answersOk(`${url}/readyz`), {
        timeoutMs: 60_000,
        what: `API ${index + 1} to be ready at ${url}/readyz`,
        process: this.apis[index].current,
      });
    }
    await waitUntil(() => answersOk(this.uiUrl), { timeoutMs: 30_000, what: `the Web UI at ${this.uiUrl}`, process: uiPart.current });
    await waitUntil(() => answersOk(`${this.codecUrl}/healthz`), {
      timeoutMs: 30_000,
      what: `the codec server at ${this.codecUrl}`,
      process: codec.current,
    });
  }

  /** The running processes of the cluster, by part ("postgresql", "temporal server", "worker 1"...). */
  processes(): Array<{ name: string; pid: number }> {
    const parts = [this.postgres, this.server, ...this.others, ...this.workers, ...this.apis];
    return parts.flatMap((part) => {
      const pid = part?.current && !hasExited(part.current.child) ? part.current.child.pid : undefined;
      return part && pid !== undefined ? [{ name: part.name, pid }] : [];
    });
  }

  /** Stops everything, newest part first: APIs, workers, stand-ins, UI, codec server, Temporal, PostgreSQL. */
  stop(): Promise<void> {
    return this.stack.stopAll();
  }

  private part(name: string, launch: () => StartedProcess, stopSignal?: NodeJS.Signals, stopGraceMs?: number): Part {
    return new Part(name, launch, this.options.onUnexpectedExit, stopSignal, stopGraceMs);
  }

  private lines(name: string): ((line: string) => void) | undefined {
    const onLine = this.options.onLine;
    return onLine && ((line) => onLine(name, line));
  }

  /**
   * Persistence so far: transactions committed in all databases, and WAL bytes written (what the
   * Temporal server asks of PostgreSQL, per order when taken before and after a burst).
   */
  persistenceCounters(): { commits: number; walBytes: number } {
    const postgres = findPostgres();
    const [commits, walBytes] = queryValue(
      postgres,
      this.postgresOptions,
      "select (select sum(xact_commit) from pg_stat_database) || ',' || pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')",
    ).split(',');
    return { commits: Number(commits), walBytes: Number(walBytes) };
  }

  /** PostgreSQL, started and accepting connections. */
  async startPostgres(postgres: PostgresBinaries = findPostgres()): Promise<void> {
    const started = this.postgres!.start();
    await waitUntil(() => acceptsConnections(postgres, this.options.ports.postgres), {
      timeoutMs: 60_000,
      what: `PostgreSQL to accept connections on ${this.postgresAddress}`,
      process: started,
    });
  }

  /** PostgreSQL's fast shutdown (SIGINT): sessions are ended, committed data kept. */
  stopPostgres(): Promise<void> {
    return this.postgres!.stop();
  }

  /**
   * Both databases and their schemas, to the version this server needs: create-database, setup-schema
   * and update-schema are each a no-op when already done, so this runs on every start.
   */
  private async setUpSchemas(sqlTool: FoundTool): Promise<void> {
    const connect = ['--plugin', 'postgres12', '--ep', '127.0.0.1', '-p', String(this.options.ports.postgres)];
    const env = { ...process.env, SQL_USER: POSTGRES_USER, SQL_PASSWORD: POSTGRES_PASSWORD };
    for (const { database, schemaName } of TEMPORAL_DATABASES) {
      for (const command of [['create-database'], ['setup-schema', '-v', '0.0'], ['update-schema', '--schema-name', schemaName]]) {
        await run(sqlTool.path, [...connect, '--db', database, ...command], { env }).catch((error: Error & { stderr?: string }) => {
          throw new Error(`${TEMPORAL_SQL_TOOL.name} ${command[0]} on database ${database} failed: ${error.stderr || error.message}`, {
            cause: error,
          });
        });
      }
    }
  }

  private spawnServer(server: FoundTool): StartedProcess {
    const env = { PATH: process.env.PATH ?? '', ...temporalServerVariables(this.options.ports, this.options.historyShards) };
    return spawnProcess('temporal server', server.path, SERVER_ARGS(ROOT, '.'), {
      env,
      onLine: this.lines('temporal server'),
      detached: true,
    });
  }

  /** The Temporal server, started and answering on its frontend. */
  async startTemporal(): Promise<void> {
    const started = this.server!.start();
    await waitUntil(() => answersGrpc(this.address), {
      timeoutMs: 90_000,
      what: `Temporal to answer on ${this.address}`,
      process: started,
    });
  }

  stopTemporal(): Promise<void> {
    return this.server!.stop();
  }

  /**
   * The kept database may have an older commit's build current in the worker deployment: the checkout's
   * build, which the workers just joined, takes over (docs/deploys.md).
   */
  private async makeBuildCurrent(): Promise<void> {
    const connection = await Connection.connect({ address: this.address });
    try {
      const buildId = loadWorkerBuildId();
      await makeCurrentVersion(new Client({ connection, namespace: DEFAULT_NAMESPACE }), buildId, { force: true });
      this.log(`Build ${buildId} is the current version of worker deployment "${WORKER_DEPLOYMENT_NAME}"`);
    } finally {
      await connection.close();
    }
  }

  /**
   * The namespace and the search attributes the service writes (OrderOutcome, OrderIdempotencyKey),
   * each registered unless it is already; then waits until the frontend serves the namespace (it caches namespaces for a few seconds).
   */
  private async registerNamespace(): Promise<void> {
    const connection = await Connection.connect({ address: this.address });
    const namespace = DEFAULT_NAMESPACE;
    try {
      const { workflowService, operatorService } = connection;
      await workflowService.describeNamespace({ namespace }).catch(async (error: unknown) => {
        if (!isGrpcServiceError(error) || error.code !== GrpcStatus.NOT_FOUND) throw error;
        await workflowService.registerNamespace({
          namespace,
          workflowExecutionRetentionPeriod: msToTs(`${NAMESPACE_RETENTION_HOURS} hours`),
        });
        this.log(`Namespace "${namespace}" registered (retention ${NAMESPACE_RETENTION_HOURS} h)`);
      });
      await waitUntil(
        () =>
          workflowService.listWorkflowExecutions({ namespace, pageSize: 1 }).then(
            () => true,
            () => false,
          ),
        {
          timeoutMs: 60_000,
          what: `namespace "${namespace}" to be served`,
          intervalMs: 500,
        },
      );
      const { customAttributes } = await operatorService.listSearchAttributes({ namespace });
      const missing = ORDER_SEARCH_ATTRIBUTES.map(({ key }) => key.name).filter(
        (name) => customAttributes?.[name] !== IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
      );
      if (missing.length > 0) {
        await operatorService.addSearchAttributes({
          namespace,
          searchAttributes: Object.fromEntries(missing.map((name) => [name, IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD])),
        });
        this.log(`Search attributes ${missing.join(', ')} (Keyword) registered`);
      }
    } finally {
      await connection.close();
    }
  }

  /** The variables every worker and API instance gets. */
  private commonEnv(): Record<string, string> {
    return {
      TEMPORAL_ADDRESS: this.address,
      TEMPORAL_NAMESPACE: DEFAULT_NAMESPACE,
      TEMPORAL_TASK_QUEUE: DEFAULT_TASK_QUEUE,
      TEMPORAL_CODEC_KEYS: this.options.codecKeys,
      LOG_LEVEL: this.options.logLevel,
    };
  }

  private startCodecServer(): StartedProcess {
    return startProjectProcess(
      CODEC_SERVER,
      {
        ...this.commonEnv(),
        CODEC_PORT: String(this.options.ports.codec),
        CODEC_HOST: '127.0.0.1',
        CODEC_CORS_ORIGIN: `${this.uiUrl},http://127.0.0.1:${this.options.ports.ui}`,
        // The Web UI cannot send a token: loopback only, as `npm start`'s codec server.
        CODEC_AUTH_DISABLED: 'true',
      },
      this.lines('codec server'),
    );
  }

  /**
   * The Web UI server with the configuration template of the temporalio/ui image, rendered from the
   * variables compose sets; a base file of our own keeps it on loopback (the template has no host).
   */
  private spawnUi(ui: FoundTool): StartedProcess {
    const root = ensureModuleFiles(TEMPORAL_UI_SERVER);
    writeFileSync(
      join(root, 'config', 'base.yaml'),
      '# Written by dev/cluster.ts: the Web UI listens on loopback only.\nhost: 127.0.0.1\n',
    );
    const env = {
      PATH: process.env.PATH ?? '',
      TEMPORAL_ADDRESS: this.address,
      TEMPORAL_UI_PORT: String(this.options.ports.ui),
      TEMPORAL_CORS_ORIGINS: this.uiUrl,
      TEMPORAL_CODEC_ENDPOINT: this.codecUrl,
      TEMPORAL_DEFAULT_NAMESPACE: DEFAULT_NAMESPACE,
      TEMPORAL_NOTIFY_ON_NEW_VERSION: 'false',
      // No access log of every request the browser makes.
      TEMPORAL_HIDE_LOGS: 'true',
    };
    return spawnProcess('web ui', ui.path, ['--root', root, '--config', 'config', '--env', 'docker', 'start'], {
      env,
      onLine: this.lines('web ui'),
      detached: true,
    });
  }

  /** Starts worker `index` (again, after a kill) and waits until it polls its task queue. */
  async startWorker(index: number): Promise<void> {
    const started = this.workers[index].start();
    // src/worker.ts says so once Worker.create has connected and the workflow bundle is built.
    await waitUntil(() => started.output().includes('Worker polling task queue'), {
      timeoutMs: 120_000,
      what: `${this.workers[index].name} to poll its task queue`,
      process: started,
    });
  }

  private spawnWorker(index: number): StartedProcess {
    const env = { ...this.commonEnv(), ...this.sandbox!.env, WORKER_METRICS_PORT: String(this.options.ports.workerMetrics[index]) };
    return startProjectProcess({ ...WORKER, name: `worker ${index + 1}` }, env, this.lines(`worker ${index + 1}`));
  }

  private startApi(index: number): StartedProcess {
    const env = {
      ...this.commonEnv(),
      TRIGGER_API_KEYS: this.options.apiKey,
      PORT: String(this.options.ports.apis[index]),
      HOST: '127.0.0.1',
      API_METRICS_PORT: String(this.options.ports.apiMetrics[index]),
      STRIPE_WEBHOOK_SECRET: this.options.webhookSecret,
      TEMPORAL_UI_URL: this.uiUrl,
      ...this.options.apiEnv,
    };
    return startProjectProcess({ ...API, name: `api ${index + 1}` }, env, this.lines(`api ${index + 1}`));
  }
}
