/**
 * `npm run bench`: pushes N orders through the whole pipeline (HTTP trigger -> API -> Temporal ->
 * worker -> stand-ins) and the same number of workflows through two baselines on the same Temporal
 * server (do-nothing activities; the same HTTP requests with plain fetch), then sends orders one at a
 * time to each (the closed loop: idle latency), and prints and saves the figures side by side. It
 * starts and stops its own stack on free loopback ports, and fails rather than report figures for a
 * broken pipeline.
 *
 *   npm run bench -- [--orders N] [--concurrency C] [--latency MS] [--closed-loop] [--out DIR] [--smoke] [--profile DIR]
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { driveBaseline, driveFetchBaseline } from './drive-baseline.js';
import { driveClosedLoop, type ClosedLoopSide, type ClosedLoopTimings } from './drive-closed-loop.js';
import { drivePipeline } from './drive-pipeline.js';
import type { PhaseOptions, PhaseTimings, StripeRequestCounts } from './load.js';
import { UsageMeter } from './process-usage.js';
import { note } from './progress.js';
import {
  benchReport,
  closedLoopReport,
  machineInfo,
  markdownTable,
  phaseReport,
  summaryText,
  type BenchConfig,
  type ClosedLoopReport,
  type PhaseUsage,
  type SaturationReports,
} from './report.js';
import { LocalStack } from '../dev/stack.js';
import type { RecordedRequest } from '../dev/sandbox/stand-in.js';
import { startStack, type BenchStack } from './stack.js';

const USAGE = `Usage: npm run bench -- [--orders N] [--concurrency C] [--latency MS] [--closed-loop] [--out DIR] [--smoke] [--profile DIR]

  --orders N        orders per side (pipeline, baseline, fetch baseline), default 1000;
                    with --closed-loop, orders per side sent one at a time, default 200
  --concurrency C   triggers / starts in flight, default 50
  --latency MS      latency of each provider stand-in, default 20 (the closed loop's stand-ins answer at once)
  --closed-loop     only the closed loop: one order at a time per side (idle latency)
  --out DIR         where the results go, default bench-results/
  --smoke           a quick check: 60 orders, 10 in flight, 20 one at a time (explicit flags still win)
  --profile DIR     the three workers write V8 CPU profiles (--cpu-prof) to DIR when they stop`;

/** Orders per side sent one at a time after the saturation phases (about 15 s per side on an idle machine). */
const CLOSED_LOOP_ORDERS = 100;
const SMOKE_CLOSED_LOOP_ORDERS = 20;
/** Uncounted orders per side before the closed loop's: the first runs after a pause are slower. */
const CLOSED_LOOP_WARMUP_ORDERS = 5;

interface Options extends BenchConfig {
  out: string;
  /** Where the workers write their V8 CPU profiles (`--cpu-prof`), if asked. */
  profileDir: string | undefined;
}

function positiveInteger(name: string, value: string | undefined, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < min)
    throw new Error(`--${name} must be an integer of at least ${min}, got "${value}"\n\n${USAGE}`);
  return parsed;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      orders: { type: 'string' },
      concurrency: { type: 'string' },
      latency: { type: 'string' },
      out: { type: 'string' },
      smoke: { type: 'boolean', default: false },
      'closed-loop': { type: 'boolean', default: false },
      profile: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const smoke = values.smoke ?? false;
  const closedLoopOnly = values['closed-loop'] ?? false;
  const closedLoopOrders = closedLoopOnly
    ? positiveInteger('orders', values.orders, smoke ? SMOKE_CLOSED_LOOP_ORDERS : 200)
    : smoke
      ? SMOKE_CLOSED_LOOP_ORDERS
      : CLOSED_LOOP_ORDERS;
  const orders = closedLoopOnly ? 0 : positiveInteger('orders', values.orders, smoke ? 60 : 1000);
  const concurrency = positiveInteger('concurrency', values.concurrency, smoke ? 10 : 50);
  return {
    orders,
    concurrency,
    closedLoopOrders,
    latencyMs: positiveInteger('latency', values.latency, 20, 0),
    out: resolve(values.out ?? 'bench-results'),
    profileDir: values.profile === undefined ? undefined : resolve(values.profile),
    smoke,
    // Enough to start V8's optimiser, the workflow caches and the connection pools before measuring.
    warmupOrders: Math.min(orders, concurrency),
  };
}

/** Generous but bounded: a minute plus 200 ms per order (5 orders/s; two busy cores do about 20). */
function phaseTimeoutMs(orders: number): number {
  return 60_000 + orders * 200;
}

/** Runs a warm-up, then the measured phase with CPU and memory meters around it. */
async function measure(
  name: string,
  stack: BenchStack,
  options: Options,
  runTag: string,
  drive: (stack: BenchStack, phase: PhaseOptions) => Promise<PhaseTimings>,
  workerPid: number,
  apiPid: number | undefined,
): Promise<{ timings: PhaseTimings; usage: PhaseUsage; stripe: StripeRequestCounts }> {
  const common = { concurrency: options.concurrency, timeoutMs: phaseTimeoutMs(options.orders) };
  await drive(stack, { ...common, orders: options.warmupOrders, idPrefix: `bench-${runTag}-${name}-warmup`, label: `${name} warm-up` });
  const meters = {
    worker: new UsageMeter(workerPid),
    temporalServer: new UsageMeter(stack.temporal.pid),
    api: apiPid === undefined ? undefined : new UsageMeter(apiPid),
    benchProcess: new UsageMeter(process.pid),
  };
  for (const meter of Object.values(meters)) meter?.start();
  const stripeFrom = stack.sandbox.stripe.requests.length;
  const timings = await drive(stack, { ...common, orders: options.orders, idPrefix: `bench-${runTag}-${name}`, label: name });
  const stripe = stripeRequestCounts(stack.sandbox.stripe.requests.slice(stripeFrom));
  const usage: PhaseUsage = {
    worker: meters.worker.stop(),
    temporalServer: meters.temporalServer.stop(),
    api: meters.api?.stop() ?? null,
    benchProcess: meters.benchProcess.stop(),
  };
  return { timings, usage, stripe };
}

function stripeRequestCounts(requests: readonly RecordedRequest[]): StripeRequestCounts {
  const searches = requests.filter((request) => request.path.startsWith('/v1/payment_intents/search'));
  return {
    total: requests.length,
    searches: searches.length,
    searchesRateLimited: searches.filter((request) => request.status === 429).length,
    customerLists: requests.filter((request) => request.method === 'GET' && request.path.startsWith('/v1/payment_intents?customer='))
      .length,
  };
}

/** The three sides at saturation, one after the other, each worker measured while its side runs. */
async function measureSaturation(stack: BenchStack, options: Options, runTag: string): Promise<SaturationReports> {
  const pipeline = await measure('pipeline', stack, options, runTag, drivePipeline, stack.worker.pid, stack.api.pid);
  note(`Pipeline: all ${options.orders} orders paid, each charged exactly once.`);
  const baseline = await measure('baseline', stack, options, runTag, driveBaseline, stack.baselineWorker.pid, undefined);
  const fetchBaseline = await measure(
    'fetch baseline',
    stack,
    options,
    runTag,
    driveFetchBaseline,
    stack.fetchBaselineWorker.pid,
    undefined,
  );
  return {
    pipeline: phaseReport(pipeline.timings, options.concurrency, pipeline.usage, pipeline.stripe),
    baseline: phaseReport(baseline.timings, options.concurrency, baseline.usage, baseline.stripe),
    fetchBaseline: phaseReport(fetchBaseline.timings, options.concurrency, fetchBaseline.usage, fetchBaseline.stripe),
  };
}

/** Orders one at a time to each side, stand-ins answering at once, after a few uncounted ones. */
async function measureClosedLoop(stack: BenchStack, options: Options, runTag: string): Promise<ClosedLoopReport> {
  for (const standIn of [stack.sandbox.stripe, stack.sandbox.resend, stack.sandbox.slack, stack.sandbox.backend]) standIn.latencyMs = 0;
  const timeoutMs = phaseTimeoutMs(options.closedLoopOrders);
  const timings = {} as Record<ClosedLoopSide, ClosedLoopTimings>;
  for (const side of ['pipeline', 'baseline', 'fetchBaseline'] as const) {
    const label = `one at a time, ${side}`;
    const idPrefix = `bench-${runTag}-closed-${side}`;
    await driveClosedLoop(stack, side, {
      orders: CLOSED_LOOP_WARMUP_ORDERS,
      idPrefix: `${idPrefix}-warmup`,
      label: `${label} warm-up`,
      timeoutMs,
    });
    timings[side] = await driveClosedLoop(stack, side, { orders: options.closedLoopOrders, idPrefix, label, timeoutMs });
  }
  return closedLoopReport(timings);
}

async function main(options: Options, resources: LocalStack): Promise<void> {
  const runTag = randomBytes(3).toString('hex');
  const [loadAverageAtStart = 0] = loadavg();
  if (loadAverageAtStart > cpus().length / 2) {
    note(`Load average ${loadAverageAtStart.toFixed(2)} on ${cpus().length} cores: other work is running, and the figures will show it.`);
  }
  note(
    (options.orders > 0
      ? `Benchmark: ${options.orders} orders per side, ${options.concurrency} in flight, stand-in latency ${options.latencyMs} ms, ` +
        `${options.warmupOrders} warm-up orders per side; then `
      : 'Benchmark: ') + `${options.closedLoopOrders} orders per side one at a time, stand-ins answering at once.`,
  );
  const workerNodeArgs = options.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.profileDir}`] : [];
  const stack = await startStack(resources, options.latencyMs, workerNodeArgs);

  const saturation = options.orders > 0 ? await measureSaturation(stack, options, runTag) : null;
  const closedLoop = await measureClosedLoop(stack, options, runTag);

  const { orders, concurrency, latencyMs, warmupOrders, closedLoopOrders, smoke } = options;
  const report = benchReport(
    { orders, concurrency, latencyMs, warmupOrders, closedLoopOrders, smoke },
    machineInfo(stack.temporal.cliVersion, stack.temporal.route, loadAverageAtStart),
    saturation,
    closedLoop,
  );
  const stamp = report.createdAt.replace(/[:.]/g, '-');
  const markdown = `# Benchmark ${report.createdAt}\n\n${markdownTable(report)}\n`;
  mkdirSync(options.out, { recursive: true });
  const jsonPath = join(options.out, `bench-${stamp}.json`);
  const markdownPath = join(options.out, `bench-${stamp}.md`);
  writeFileSync(jsonPath, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(markdownPath, markdown);
  writeFileSync(join(options.out, 'latest.md'), markdown);

  console.log(`\n${summaryText(report)}\n`);
  console.log(`Written: ${jsonPath}\n         ${markdownPath}\n         ${join(options.out, 'latest.md')}`);
}

let options: Options;
try {
  options = parseOptions(process.argv.slice(2));
} catch (error) {
  console.error((error as Error).message);
  process.exit(2);
}

const resources = new LocalStack(note);
process.on('exit', () => resources.killAllNow());
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    note(`\n${signal}: stopping the benchmark's processes...`);
    void resources.stopAll().finally(() => process.exit(130));
  });
}

let exitCode = 0;
try {
  await main(options, resources);
} catch (error) {
  console.error(`\nBenchmark failed: ${error instanceof Error ? error.message : String(error)}`);
  exitCode = 1;
}
note('Stopping the benchmark stack...');
await resources.stopAll();
process.exit(exitCode);
