import { Connection } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { ORDER_SEARCH_ATTRIBUTES } from '../src/domain/search-attributes.js';
import { devServerDynamicConfigArgs } from './dynamic-config.js';
import { freePort, spawnProcess, stopProcess, waitUntil } from './processes.js';
import { buildWithGo, findTool, hasGo, TEMPORAL_CLI, type FoundTool } from './tools.js';

export interface DevServerOptions {
  /** gRPC port (0 picks a free one). */
  port?: number;
  /** Web UI port; omitted: no Web UI. */
  uiPort?: number;
  /** A remote codec server the Web UI calls to decode payloads (needs `uiPort`). */
  uiCodecEndpoint?: string;
  /** SQLite file so runs survive a restart; omitted: in memory. */
  dbFilename?: string;
}

export interface DevServer {
  address: string;
  uiUrl?: string;
  /** Which route provided the `temporal` binary. */
  route: string;
  /** The server process, when this module spawned it (for CPU and memory figures). */
  pid?: number;
  /** Stops the server; later calls wait for the same stop. */
  stop(): Promise<void>;
}

const STARTUP_TIMEOUT_MS = 60_000;

/** Whether the server at `address` answers gRPC. */
export async function answersGrpc(address: string): Promise<boolean> {
  try {
    const connection = await Connection.connect({ address, connectTimeout: 1_000 });
    try {
      await connection.workflowService.getSystemInfo({});
      return true;
    } finally {
      await connection.close();
    }
  } catch {
    return false;
  }
}

/** The settings of temporal-dynamic-config.yaml, which compose and `npm run cluster` give their server too. */
const DYNAMIC_CONFIG_ARGS = devServerDynamicConfigArgs();

/** Arguments both ways of starting the dev server share. */
function sharedArgs(options: DevServerOptions): string[] {
  return [...DYNAMIC_CONFIG_ARGS, ...(options.uiCodecEndpoint ? ['--ui-codec-endpoint', options.uiCodecEndpoint] : [])];
}

async function spawnDevServer(tool: FoundTool, options: DevServerOptions): Promise<DevServer> {
  const port = options.port || (await freePort());
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port), '--log-level', 'warn'];
  args.push(...(options.uiPort === undefined ? ['--headless'] : ['--ui-port', String(options.uiPort)]));
  if (options.dbFilename) args.push('--db-filename', options.dbFilename);
  args.push(...ORDER_SEARCH_ATTRIBUTES.flatMap(({ key }) => ['--search-attribute', `${key.name}=Keyword`]), ...sharedArgs(options));
  const server = spawnProcess('temporal server', tool.path, args);
  const address = `127.0.0.1:${port}`;
  try {
    await waitUntil(() => answersGrpc(address), { timeoutMs: STARTUP_TIMEOUT_MS, what: `it to answer on ${address}`, process: server });
  } catch (error) {
    server.child.kill('SIGKILL');
    throw error;
  }
  let stopped: Promise<void> | undefined;
  return {
    address,
    ...(options.uiPort !== undefined && { uiUrl: `http://localhost:${options.uiPort}` }),
    route: tool.route,
    ...(server.child.pid !== undefined && { pid: server.child.pid }),
    stop: () => (stopped ??= stopProcess(server.child, 10_000).then(() => undefined)),
  };
}

/**
 * A real Temporal dev server. The binary comes from TEMPORAL_CLI_PATH, PATH or the project's cache;
 * else it is built with Go when Go is present; else the SDK downloads it (needs internet).
 */
export async function startDevServer(options: DevServerOptions = {}): Promise<DevServer> {
  const found = findTool(TEMPORAL_CLI) ?? (hasGo() ? buildWithGo(TEMPORAL_CLI) : undefined);
  if (found) return spawnDevServer(found, options);
  let stopped: Promise<void> | undefined;
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      ip: '127.0.0.1',
      port: options.port || undefined,
      ...(options.uiPort !== undefined ? { ui: true, uiPort: options.uiPort } : { ui: false }),
      ...(options.dbFilename && { dbFilename: options.dbFilename }),
      extraArgs: sharedArgs(options),
      executable: { type: 'cached-download' },
      searchAttributes: ORDER_SEARCH_ATTRIBUTES.map(({ key }) => key),
    },
  });
  return {
    address: env.address,
    ...(options.uiPort !== undefined && { uiUrl: `http://localhost:${options.uiPort}` }),
    route: 'downloaded by the Temporal SDK (no local binary, no Go)',
    stop: () => (stopped ??= env.teardown()),
  };
}
