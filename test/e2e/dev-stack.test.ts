import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../dev/temporal-server.js';

const STACK_ENTRY = fileURLToPath(new URL('../../dev/start.ts', import.meta.url));
const dataDir = mkdtempSync(join(tmpdir(), 'order-stack-'));
const running: ChildProcess[] = [];

afterAll(() => {
  for (const stack of running) if (stack.exitCode === null) stack.kill('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});

interface StartedStack {
  process: ChildProcess;
  output: () => string;
}

/** `npm start` on free ports and a temporary data folder; resolves once its output matches `ready`. */
async function startStack(ports: Record<string, string>, ready: RegExp): Promise<StartedStack> {
  const stack = spawn(process.execPath, ['--import', 'tsx', STACK_ENTRY], {
    env: { ...process.env, ...ports, DEV_DATA_DIR: dataDir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.push(stack);
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (ready.test(output)) resolve();
    };
    stack.stdout!.on('data', onData);
    stack.stderr!.on('data', onData);
    stack.once('exit', (code) => reject(new Error(`the stack exited (${code}) before it was ready:\n${output}`)));
  });
  return { process: stack, output: () => output };
}

async function interrupt(stack: StartedStack): Promise<number | null> {
  stack.process.kill('SIGINT');
  const [code] = await once(stack.process, 'exit');
  return code as number | null;
}

describe('npm start (the local stack)', () => {
  it('runs an order through every part, prints where to look, stops on Ctrl-C and keeps runs across restarts', async () => {
    const ports = {
      TEMPORAL_PORT: String(await freePort()),
      TEMPORAL_UI_PORT: String(await freePort()),
      PORT: String(await freePort()),
    };
    const first = await startStack(ports, /Ctrl-C stops everything/);
    const demo = /Demo order (ord_\d+) completed: (\{.*\})/.exec(first.output());
    expect(demo, first.output()).not.toBeNull();
    expect(JSON.parse(demo![2]!)).toMatchObject({ status: 'paid', receipt: 'sent', opsNotified: false });
    expect(first.output()).toContain(`curl -X POST http://localhost:${ports.PORT}/api/workflows/order-processing/trigger`);
    expect(first.output()).toContain(`Web UI         http://localhost:${ports.TEMPORAL_UI_PORT}`);
    expect(first.output()).toMatch(/temporal binary: (TEMPORAL_CLI_PATH|found on PATH|project cache|built with Go|downloaded)/);
    const webUi = await fetch(`http://localhost:${ports.TEMPORAL_UI_PORT}/`);
    expect(webUi.status).toBe(200);

    expect(await interrupt(first)).toBe(0);
    expect(first.output()).toContain('Stopped.');

    const second = await startStack(ports, /Ctrl-C stops everything/);
    const earlier = await fetch(`http://localhost:${ports.PORT}/api/runs/order-${demo![1]}`, { headers: { authorization: 'Bearer ask_local_dev_key' } });
    expect(earlier.status).toBe(200);
    expect(await earlier.json()).toMatchObject({ status: 'completed', result: { orderId: demo![1], status: 'paid' } });
    expect(await interrupt(second)).toBe(0);
  });
});
