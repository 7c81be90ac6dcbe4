/**
 * The benchmark's own stack, all on 127.0.0.1 and free ports: an in-memory Temporal dev server, the
 * sandbox stand-ins (in this process), and four child processes: the order worker, the API and the
 * two baseline workers (do-nothing, fetch). Everything started is registered with the LocalStack, which
 * stops it also when start-up fails halfway.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { DEFAULT_NAMESPACE } from '../src/config/temporal.js';
import { DEV_CODEC_KEYS } from '../dev/codec-dev-key.js';
import { answersOk, API, freePorts, waitUntil, WORKER, type ProjectEntry, type StartedProcess } from '../dev/processes.js';
import type { LocalStack } from '../dev/stack.js';
import { findTool, TEMPORAL_CLI } from '../dev/tools.js';
import type { Sandbox } from '../dev/sandbox/index.js';
import { LIVE_SEARCH_RATE_PER_SECOND } from './load.js';
import { note } from './progress.js';

const BASELINE_WORKER: ProjectEntry = { name: 'baseline worker', path: 'bench/baseline-worker.ts' };
/** Both workers bundle their workflows at start; on two cores that takes a while. */
const PROCESS_STARTUP_MS = 180_000;

interface TemporalServer {
  address: string;
  /** The server process, when it can be known (for CPU and memory figures). */
  pid: number | undefined;
  route: string;
  cliVersion: string;
}

type BenchProcess = StartedProcess & { pid: number };

export interface BenchStack {
  temporal: TemporalServer;
  client: Client;
  sandbox: Sandbox;
  apiUrl: string;
  apiKey: string;
  taskQueue: string;
  baselineTaskQueue: string;
  fetchBaselineTaskQueue: string;
  worker: BenchProcess;
  api: BenchProcess;
  baselineWorker: BenchProcess;
  fetchBaselineWorker: BenchProcess;
  /** Rejects as soon as a child process exits while the benchmark runs. */
  crashed: Promise<never>;
}

function cliVersion(path: string | undefined): string {
  if (!path) return 'unknown';
  try {
    return execFileSync(path, ['--version'], { encoding: 'utf8', timeout: 10_000 }).trim();
  } catch {
    return 'unknown';
  }
}

/** A project process with its output forwarded to the progress notes, prefixed. */
function startProcess(resources: LocalStack, entry: ProjectEntry, env: Record<string, string>): BenchProcess {
  const started = resources.startProcess(entry, env, (line) => note(`[${entry.name}] ${line}`));
  return { ...started, pid: started.child.pid! };
}

function waitFor(started: StartedProcess, what: string, ready: () => Promise<boolean> | boolean): Promise<boolean> {
  return waitUntil(ready, { timeoutMs: PROCESS_STARTUP_MS, what: `the ${started.name} to report ${what}`, process: started });
}

/**
 * `workerNodeArgs`: extra Node options for the workers (`--profile` passes `--cpu-prof` and its
 * folder), so a profile covers exactly the processes the figures are about.
 */
export async function startStack(resources: LocalStack, latencyMs: number, workerNodeArgs: string[] = []): Promise<BenchStack> {
  note('Starting an in-memory Temporal dev server...');
  const server = await resources.startTemporal();
  const temporal = { address: server.address, pid: server.pid, route: server.route, cliVersion: cliVersion(findTool(TEMPORAL_CLI)?.path) };
  note(`Temporal dev server at ${temporal.address} (${temporal.route}; ${temporal.cliVersion.split('\n')[0]})`);

  const connection = await Connection.connect({ address: temporal.address });
  resources.add(() => connection.close());
  const client = new Client({ connection, namespace: DEFAULT_NAMESPACE });

  const sandbox = await resources.startSandbox();
  for (const standIn of [sandbox.stripe, sandbox.resend, sandbox.slack, sandbox.backend]) standIn.latencyMs = latencyMs;
  sandbox.stripe.searchRatePerSecond = LIVE_SEARCH_RATE_PER_SECOND;

  const runTag = randomBytes(4).toString('hex');
  const taskQueue = `order-processing-bench-${runTag}`;
  const baselineTaskQueue = `baseline-bench-${runTag}`;
  const fetchBaselineTaskQueue = `fetch-baseline-bench-${runTag}`;
  const apiKey = `bench_${randomBytes(12).toString('hex')}`;
  const [apiPort, apiMetricsPort, workerMetricsPort] = await freePorts(3);
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  const common = {
    TEMPORAL_ADDRESS: temporal.address,
    TEMPORAL_NAMESPACE: DEFAULT_NAMESPACE,
    LOG_LEVEL: 'warn',
    METRICS_HOST: '127.0.0.1',
  };
  // As `npm start` runs them: payloads encrypted (with the public development key), metrics on.
  const pipelineEnv = { ...common, TEMPORAL_TASK_QUEUE: taskQueue, TEMPORAL_CODEC_KEYS: DEV_CODEC_KEYS };

  note('Starting the order worker, the API and the baseline workers (the workers bundle their workflows first)...');
  const worker = startProcess(
    resources,
    { ...WORKER, nodeArgs: workerNodeArgs },
    {
      ...pipelineEnv,
      ...sandbox.env,
      WORKER_METRICS_PORT: String(workerMetricsPort),
    },
  );
  const api = startProcess(resources, API, {
    ...pipelineEnv,
    TRIGGER_API_KEYS: apiKey,
    PORT: String(apiPort),
    HOST: '127.0.0.1',
    API_METRICS_PORT: String(apiMetricsPort),
    // The benchmark's one key sends far more than a client's fair share: lift the per-key rate limit.
    RATE_LIMIT_MAX: String(1_000_000_000),
  });
  const baselineWorker = startProcess(
    resources,
    { ...BASELINE_WORKER, nodeArgs: workerNodeArgs },
    {
      ...common,
      TEMPORAL_TASK_QUEUE: baselineTaskQueue,
    },
  );
  const fetchBaselineWorker = startProcess(
    resources,
    { ...BASELINE_WORKER, name: 'fetch baseline worker', nodeArgs: workerNodeArgs },
    {
      ...common,
      ...sandbox.env,
      TEMPORAL_TASK_QUEUE: fetchBaselineTaskQueue,
      BASELINE: 'fetch',
    },
  );

  await Promise.all([
    waitFor(worker, 'polling', () => worker.output().includes('polling task queue')),
    waitFor(baselineWorker, 'polling', () => baselineWorker.output().includes('polling task queue')),
    waitFor(fetchBaselineWorker, 'polling', () => fetchBaselineWorker.output().includes('polling task queue')),
    waitFor(api, 'ready on /readyz', () => answersOk(`${apiUrl}/readyz`)),
  ]);

  const watched = [worker, api, baselineWorker, fetchBaselineWorker];
  const crashed = new Promise<never>((_resolve, reject) => {
    for (const started of watched) {
      resources.onUnexpectedExit(started, (how) =>
        reject(new Error(`The ${started.name} exited during the benchmark (${how}):\n${started.output()}`)),
      );
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
