import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Connection } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { ORDER_IDEMPOTENCY_KEY } from '../src/start-order.js';
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
  /** When no binary is found and Go is absent, let the SDK download the CLI (needs internet). */
  allowDownload: boolean;
}

export interface DevServer {
  address: string;
  uiUrl?: string;
  /** Which route provided the `temporal` binary. */
  route: string;
  /** The server process, when this module spawned it (for CPU and memory figures). */
  pid?: number;
  stop(): Promise<void>;
}

const STARTUP_TIMEOUT_MS = 60_000;

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Resolves once the server answers gRPC; fails if the process exits first or the deadline passes. */
async function waitUntilServing(address: string, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`temporal server exited with code ${child.exitCode}:\n${output()}`);
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1_000 });
      await connection.workflowService.getSystemInfo({});
      await connection.close();
      return;
    } catch {
      await sleep(250);
    }
  }
  throw new Error(`temporal server did not answer on ${address} within ${STARTUP_TIMEOUT_MS / 1000}s:\n${output()}`);
}

/**
 * Eager activity dispatch: the server hands an activity task straight back to the worker that
 * scheduled it, in the answer to its workflow task, instead of through the task queue (about a fifth
 * less server CPU per order; docs/benchmark.md, Tuning). Off by default in Temporal; production clusters set it in
 * their dynamic config (docker-compose.yml does).
 */
const DYNAMIC_CONFIG_ARGS = ['--dynamic-config-value', 'system.enableActivityEagerExecution=true'];

/** Arguments both ways of starting the dev server share. */
function sharedArgs(options: DevServerOptions): string[] {
  return [...DYNAMIC_CONFIG_ARGS, ...(options.uiCodecEndpoint ? ['--ui-codec-endpoint', options.uiCodecEndpoint] : [])];
}

async function spawnDevServer(tool: FoundTool, options: DevServerOptions): Promise<DevServer> {
  const port = options.port || (await freePort());
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port), '--log-level', 'warn'];
  args.push(...(options.uiPort === undefined ? ['--headless'] : ['--ui-port', String(options.uiPort)]));
  if (options.dbFilename) args.push('--db-filename', options.dbFilename);
  args.push('--search-attribute', `${ORDER_IDEMPOTENCY_KEY.name}=Keyword`, ...sharedArgs(options));
  const child = spawn(tool.path, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4_000);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const address = `127.0.0.1:${port}`;
  try {
    await waitUntilServing(address, child, () => output);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  return {
    address,
    ...(options.uiPort !== undefined && { uiUrl: `http://localhost:${options.uiPort}` }),
    route: tool.route,
    ...(child.pid !== undefined && { pid: child.pid }),
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(10_000).then(() => child.kill('SIGKILL'))]);
    },
  };
}

/**
 * A real Temporal dev server. The binary comes from TEMPORAL_CLI_PATH, PATH or the project's cache;
 * else it is built with Go when Go is present; else (if allowed) the SDK downloads it.
 */
export async function startDevServer(options: DevServerOptions): Promise<DevServer> {
  const found = findTool(TEMPORAL_CLI) ?? (hasGo() ? buildWithGo(TEMPORAL_CLI) : undefined);
  if (found) return spawnDevServer(found, options);
  if (!options.allowDownload) {
    throw new Error(
      `The temporal CLI is not installed and Go is not available to build it. Set ${TEMPORAL_CLI.envVar}, put ` +
        `temporal on PATH (https://docs.temporal.io/cli), or install Go (https://go.dev/dl/).`,
    );
  }
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      ip: '127.0.0.1',
      port: options.port || undefined,
      ...(options.uiPort !== undefined ? { ui: true, uiPort: options.uiPort } : { ui: false }),
      ...(options.dbFilename && { dbFilename: options.dbFilename }),
      extraArgs: sharedArgs(options),
      executable: { type: 'cached-download' },
      searchAttributes: [ORDER_IDEMPOTENCY_KEY],
    },
  });
  return {
    address: env.address,
    ...(options.uiPort !== undefined && { uiUrl: `http://localhost:${options.uiPort}` }),
    route: 'downloaded by the Temporal SDK (no local binary, no Go)',
    stop: () => env.teardown(),
  };
}
