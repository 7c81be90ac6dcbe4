import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { answersOk, freePort } from '../../dev/processes.js';
import { BUILD_ID_FILE, sourceBuildId } from '../../src/worker/deployment.js';
import { sampleOrder, startHarness, type Harness } from '../support/harness.js';
import { startOtlpReceiver } from '../support/otlp-receiver.js';

// The production build as the image runs it: `npm run build`, then plain `node dist/...` (no tsx, no
// npm), against the run's Temporal dev server and the provider stand-ins.

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DIST = join(ROOT, 'dist');
const API_KEY = 'ask_production_build';

let harness: Harness;
const processes: ChildProcess[] = [];

beforeAll(async () => {
  await promisify(execFile)('npm', ['run', 'build'], { cwd: ROOT });
  harness = await startHarness({ withoutWorker: true });
}, 300_000);
afterAll(async () => {
  for (const child of processes) if (child.exitCode === null) child.kill('SIGKILL');
  await harness?.close();
});

/** `node <compiled entry point>` with nothing preloaded, as the image's CMD; its output lines are kept. */
function startCompiled(entryPoint: string, env: Record<string, string>): { child: ChildProcess; output: string[] } {
  const child = spawn(process.execPath, [entryPoint], {
    cwd: ROOT,
    env: {
      ...process.env,
      NODE_OPTIONS: '',
      NODE_ENV: 'production',
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      TEMPORAL_TASK_QUEUE: harness.temporal.taskQueue,
      TEMPORAL_CODEC_KEYS: inject('codecKeys'),
      LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  processes.push(child);
  const output: string[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => output.push(...chunk.split('\n').filter((line) => line.trim())));
  }
  return { child, output };
}

async function stopWithSigterm(child: ChildProcess): Promise<number | null> {
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const [code] = (await exited) as [number | null];
  return code;
}

describe('the compiled build (npm run build, node dist/...)', () => {
  it('holds the entry points, the failure converter loaded by path and the prebuilt workflow bundles', () => {
    for (const file of [
      'worker.js',
      'api/server.js',
      'codec/server.js',
      'codec/failure-converter.cjs',
      'workflow-bundle.js',
      'workflow-bundle-traced.js',
    ]) {
      expect(existsSync(join(DIST, file)), `dist/${file}`).toBe(true);
    }
    // Only src/ is compiled: no tests or dev tooling ship.
    const compiledSrc = readdirSync(join(ROOT, 'src')).map((name) => name.replace(/\.ts$/, '.js'));
    expect(readdirSync(DIST).sort()).toEqual([...compiledSrc, 'workflow-bundle.js', 'workflow-bundle-traced.js', BUILD_ID_FILE].sort());
    // Only the traced bundle carries the workflow tracing interceptors.
    const bundle = (file: string) => readFileSync(join(DIST, file), 'utf8');
    expect(bundle('workflow-bundle-traced.js')).toContain('OpenTelemetryInboundInterceptor');
    expect(bundle('workflow-bundle.js')).not.toContain('OpenTelemetryInboundInterceptor');
    // The build ID the compiled worker joins its worker deployment as: the package version and the commit.
    expect(readFileSync(join(DIST, BUILD_ID_FILE), 'utf8').trim()).toBe(sourceBuildId());
  });

  it('runs an order to paid through the compiled API and worker, which both exit 0 on SIGTERM', async () => {
    const worker = startCompiled('dist/worker.js', { ...harness.sandbox.env, WORKER_METRICS_PORT: String(await freePort()) });
    const port = await freePort();
    const api = startCompiled('dist/api/server.js', {
      TRIGGER_API_KEYS: API_KEY,
      HOST: '127.0.0.1',
      PORT: String(port),
      API_METRICS_PORT: String(await freePort()),
    });
    const base = `http://127.0.0.1:${port}`;
    const headers = { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' };

    await expect
      .poll(() => worker.output.some((line) => line.startsWith('Worker polling task queue')), { timeout: 60_000, interval: 100 })
      .toBe(true);
    expect(worker.output, 'the worker loads the bundle npm run build wrote, without bundling at start').toContain(
      `Workflow code from the prebuilt bundle ${join(DIST, 'workflow-bundle.js')}`,
    );
    await expect.poll(() => answersOk(`${base}/healthz`), { timeout: 60_000 }).toBe(true);

    const order = sampleOrder();
    const triggered = await fetch(`${base}/api/workflows/order-processing/trigger`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ params: order }),
    });
    expect(triggered.status).toBe(201);
    const { workflowId } = (await triggered.json()) as { workflowId: string };
    expect(workflowId).toBe(`order-${order.orderId}`);

    expect(await harness.client.workflow.getHandle(workflowId).result()).toMatchObject({ status: 'paid' });
    expect(harness.sandbox.stripe.successfulCharges(order.orderId)).toHaveLength(1);
    // The API decrypts the result with the same keys as the worker that encrypted it.
    const run = await fetch(`${base}/api/runs/${workflowId}`, { headers });
    expect(run.status).toBe(200);
    expect(await run.json()).toMatchObject({ workflowId, status: 'completed', result: { status: 'paid' } });

    expect(await stopWithSigterm(api.child), `API exit code; its output:\n${api.output.join('\n')}`).toBe(0);
    expect(await stopWithSigterm(worker.child), `worker exit code; its output:\n${worker.output.join('\n')}`).toBe(0);
  });

  it('loads the traced bundle when tracing is on, and the run spans reach the OTLP endpoint', async () => {
    const receiver = await startOtlpReceiver();
    try {
      const worker = startCompiled('dist/worker.js', {
        ...harness.sandbox.env,
        WORKER_METRICS_PORT: String(await freePort()),
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
        OTEL_BSP_SCHEDULE_DELAY: '100',
      });
      await expect
        .poll(() => worker.output.some((line) => line.startsWith('Worker polling task queue')), { timeout: 60_000, interval: 100 })
        .toBe(true);
      expect(worker.output).toContain(`Workflow code from the prebuilt bundle ${join(DIST, 'workflow-bundle-traced.js')}`);
      const order = sampleOrder();
      expect(await harness.runOrder(order)).toMatchObject({ status: 'paid' });
      await expect
        .poll(
          () =>
            receiver.spans.find((span) => span.name === 'RunWorkflow:orderProcessing' && span.attributes['order.id'] === order.orderId)
              ?.serviceName,
          { timeout: 30_000, interval: 100 },
        )
        .toBe('order-processing-worker');
      expect(await stopWithSigterm(worker.child), `worker exit code; its output:\n${worker.output.join('\n')}`).toBe(0);
    } finally {
      await receiver.close();
    }
  });
});
