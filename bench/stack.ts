/**
 * The benchmark's own stack, all on 127.0.0.1 and free ports: an in-memory Temporal dev server, the
 * sandbox stand-ins (in this process), and four child processes: the order worker, the API and the
 * two baseline workers (do-nothing, fetch). Everything started is registered for `stop()`, also when start-up fails halfway.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { DEV_CODEC_KEYS } from '../dev/codec-dev-key.js';
import { freePort, startDevServer } from '../dev/temporal-server.js';
import { findTool, TEMPORAL_CLI } from '../dev/tools.js';
import { startSandbox, type Sandbox } from '../dev/sandbox/index.js';
import { note } from './progress.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** Both workers bundle their workflows at start; on two cores that takes a while. */
const PROCESS_STARTUP_MS = 180_000;
const OUTPUT_TAIL_CHARS = 4_000;

export interface TemporalServer {
  address: string;
  /** The server process, when it can be known (for CPU and memory figures). */
  pid: number | undefined;
  route: string;
  cliVersion: string;
}

export interface ProjectProcess {
  name: string;
  child: ChildProcess;
  pid: number;
  /** The last few KB of its output, for error messages. */
  output(): string;
}

export interface BenchStack {
  temporal: TemporalServer;
  client: Client;
  sandbox: Sandbox;
  apiUrl: string;
  apiKey: string;
  taskQueue: string;
  baselineTaskQueue: string;
  fetchBaselineTaskQueue: string;
  worker: ProjectProcess;
  api: ProjectProcess;
  baselineWorker: ProjectProcess;
  fetchBaselineWorker: ProjectProcess;
  /** Rejects as soon as a child process exits while the benchmark runs. */
  crashed: Promise<never>;
}

type Stopper = () => Promise<void>;

/** What has been started so far, stopped in reverse order. */
export class Resources {
  private readonly stoppers: Stopper[] = [];
  private readonly children = new Set<ChildProcess>();
  stopping = false;

  add(stopper: Stopper): void {
    this.stoppers.push(stopper);
  }

  addChild(child: ChildProcess, name: string): void {
    this.children.add(child);
    this.add(async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const killed = await Promise.race([exited.then(() => false), sleep(15_000).then(() => true)]);
      if (killed) {
        note(`The ${name} did not stop within 15s of SIGTERM: killing it.`);
        child.kill('SIGKILL');
      }
    });
  }

  private stopped: Promise<void> | undefined;

  /** Stops everything once; later calls wait for the same stop. */
  stopAll(): Promise<void> {
    this.stopping = true;
    this.stopped ??= (async () => {
      for (const stopper of this.stoppers.reverse()) {
        await stopper().catch((error: unknown) => note(`Cleanup step failed: ${(error as Error).message}`));
      }
    })();
    return this.stopped;
  }

  /** Last resort when the process exits without `stopAll` (synchronous: only signals can be sent). */
  killAllNow(): void {
    for (const child of this.children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}

/** The local environment minus Temporal connection settings, so a shell pointed at a cluster cannot redirect the run. */
function inheritedEnv(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(process.env).filter(
      (entry): entry is [string, string] => entry[1] !== undefined && (!entry[0].startsWith('TEMPORAL_') || entry[0] === TEMPORAL_CLI.envVar),
    ),
  );
}

function cliVersion(path: string | undefined): string {
  if (!path) return 'unknown';
  try {
    return execFileSync(path, ['--version'], { encoding: 'utf8', timeout: 10_000 }).trim();
  } catch {
    return 'unknown';
  }
}

/** An in-memory, headless dev server, as the tests use (its pid is known when a local binary runs it). */
async function startTemporal(resources: Resources): Promise<TemporalServer> {
  const server = await startDevServer({ allowDownload: true });
  resources.add(() => server.stop());
  return { address: server.address, pid: server.pid, route: server.route, cliVersion: cliVersion(findTool(TEMPORAL_CLI)?.path) };
}

/** `node --import tsx <entry>` with its output forwarded, prefixed, and its tail kept for errors. */
function startProjectProcess(resources: Resources, name: string, entry: string, env: Record<string, string>, nodeArgs: string[] = []): ProjectProcess {
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', entry], {
    cwd: ROOT,
    env: { ...inheritedEnv(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  resources.addChild(child, name);
  let tail = '';
  for (const stream of [child.stdout, child.stderr]) {
    stream?.setEncoding('utf8');
    stream?.on('data', (chunk: string) => {
      tail = (tail + chunk).slice(-OUTPUT_TAIL_CHARS);
      for (const line of chunk.split('\n')) if (line.trim()) note(`[${name}] ${line}`);
    });
  }
  if (child.pid === undefined) throw new Error(`Could not start the ${name} (${entry})`);
  return { name, child, pid: child.pid, output: () => tail };
}

async function waitFor(what: string, started: ProjectProcess, ready: () => Promise<boolean> | boolean): Promise<void> {
  const until = Date.now() + PROCESS_STARTUP_MS;
  while (Date.now() < until) {
    const { child } = started;
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`The ${started.name} exited (${child.signalCode ?? `code ${child.exitCode}`}) before ${what}:\n${started.output()}`);
    }
    if (await ready()) return;
    await sleep(200);
  }
  throw new Error(`The ${started.name} did not report ${what} within ${PROCESS_STARTUP_MS / 1000}s:\n${started.output()}`);
}

/** `count` free loopback ports, all different (a port just probed and released may be handed out again). */
async function distinctFreePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort());
  return [...ports];
}

/**
 * `workerNodeArgs`: extra Node options for the two workers (`--profile` passes `--cpu-prof` and its
 * folder), so a profile covers exactly the processes the figures are about.
 */
export async function startStack(resources: Resources, latencyMs: number, workerNodeArgs: string[] = []): Promise<BenchStack> {
  note('Starting an in-memory Temporal dev server...');
  const temporal = await startTemporal(resources);
  note(`Temporal dev server at ${temporal.address} (${temporal.route}; ${temporal.cliVersion.split('\n')[0]})`);

  const connection = await Connection.connect({ address: temporal.address });
  resources.add(() => connection.close());
  const client = new Client({ connection, namespace: 'default' });

  const sandbox = await startSandbox();
  resources.add(() => sandbox.close());
  for (const standIn of [sandbox.stripe, sandbox.resend, sandbox.slack, sandbox.backend]) standIn.latencyMs = latencyMs;

  const runTag = randomBytes(4).toString('hex');
  const taskQueue = `order-processing-bench-${runTag}`;
  const baselineTaskQueue = `baseline-bench-${runTag}`;
  const fetchBaselineTaskQueue = `fetch-baseline-bench-${runTag}`;
  const apiKey = `bench_${randomBytes(12).toString('hex')}`;
  const [apiPort, apiMetricsPort, workerMetricsPort] = await distinctFreePorts(3);
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  const common = { TEMPORAL_ADDRESS: temporal.address, TEMPORAL_NAMESPACE: 'default', LOG_LEVEL: 'warn', METRICS_HOST: '127.0.0.1' };
  // As `npm start` runs them: payloads encrypted (with the public development key), metrics on.
  const pipelineEnv = { ...common, TEMPORAL_TASK_QUEUE: taskQueue, TEMPORAL_CODEC_KEYS: DEV_CODEC_KEYS };

  note('Starting the order worker, the API and the baseline workers (the workers bundle their workflows first)...');
  const worker = startProjectProcess(resources, 'worker', 'src/worker.ts', {
    ...pipelineEnv,
    ...sandbox.env,
    WORKER_METRICS_PORT: String(workerMetricsPort),
  }, workerNodeArgs);
  const api = startProjectProcess(resources, 'api', 'src/api/server.ts', {
    ...pipelineEnv,
    TRIGGER_API_KEYS: apiKey,
    PORT: String(apiPort),
    HOST: '127.0.0.1',
    API_METRICS_PORT: String(apiMetricsPort),
    // The benchmark's one key sends far more than a client's fair share: lift the per-key rate limit.
    RATE_LIMIT_MAX: String(1_000_000_000),
  });
  const baselineWorker = startProjectProcess(resources, 'baseline worker', 'bench/baseline-worker.ts', {
    ...common,
    TEMPORAL_TASK_QUEUE: baselineTaskQueue,
  }, workerNodeArgs);
  const fetchBaselineWorker = startProjectProcess(resources, 'fetch baseline worker', 'bench/baseline-worker.ts', {
    ...common,
    ...sandbox.env,
    TEMPORAL_TASK_QUEUE: fetchBaselineTaskQueue,
    BASELINE: 'fetch',
  }, workerNodeArgs);

  await Promise.all([
    waitFor('polling', worker, () => worker.output().includes('polling task queue')),
    waitFor('polling', baselineWorker, () => baselineWorker.output().includes('polling task queue')),
    waitFor('polling', fetchBaselineWorker, () => fetchBaselineWorker.output().includes('polling task queue')),
    waitFor('ready on /readyz', api, () => fetch(`${apiUrl}/readyz`).then((response) => response.ok, () => false)),
  ]);

  const watched = [worker, api, baselineWorker, fetchBaselineWorker];
  const crashed = new Promise<never>((_resolve, reject) => {
    for (const { name, child, output } of watched) {
      child.once('exit', (code, signal) => {
        if (!resources.stopping) reject(new Error(`The ${name} exited during the benchmark (${signal ?? `code ${code}`}):\n${output()}`));
      });
    }
  });
  crashed.catch(() => undefined);

  return {
    temporal,
    client,
    sandbox,
    apiUrl,
    apiKey,
    taskQueue,
    baselineTaskQueue,
    fetchBaselineTaskQueue,
    worker,
    api,
    baselineWorker,
    fetchBaselineWorker,
    crashed,
  };
}
