import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, spawnProcess, stopProcess, waitUntil, type StartedProcess } from '../../dev/processes.js';

const dataDir = mkdtempSync(join(tmpdir(), 'order-stack-'));
const running: StartedProcess[] = [];

afterAll(async () => {
  await Promise.all(running.map(({ child }) => stopProcess(child)));
  rmSync(dataDir, { recursive: true, force: true });
});

interface StartedStack {
  process: StartedProcess;
  /** All its output so far. */
  output: () => string;
}

/** `npm start` on free ports and a temporary data folder; resolves once its output matches `ready`. */
async function startStack(ports: Record<string, string>, ready: RegExp): Promise<StartedStack> {
  const lines: string[] = [];
  const output = () => lines.join('\n');
  const stack = spawnProcess('local stack', process.execPath, ['--import', 'tsx', 'dev/start.ts'], {
    env: { ...process.env, ...ports, DEV_DATA_DIR: dataDir },
    onLine: (line) => lines.push(line),
  });
  running.push(stack);
  await waitUntil(() => ready.test(output()), { timeoutMs: 110_000, what: `its output to match ${ready}`, process: stack });
  return { process: stack, output };
}

async function interrupt(stack: StartedStack): Promise<number | null> {
  stack.process.child.kill('SIGINT');
  const [code] = await once(stack.process.child, 'close');
  return code as number | null;
}

/**
 * The sandbox checkout page, wired to the stack's API and Stripe stand-in: a customer who needs the bank
 * gets requires_action with the client secret and the stand-in's bank page, which confirms; the long poll past it answers paid.
 */
async function checkoutPagePays(output: string, port: string): Promise<void> {
  const checkoutUrl = `http://localhost:${port}`;
  expect(output).toContain(`Checkout page  ${checkoutUrl}`);
  expect(await (await fetch(checkoutUrl)).text()).toContain('<title>Sandbox checkout</title>');
  const paid = await fetch(`${checkoutUrl}/pay`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ customerId: 'cus_authenticate', amount: 1999 }),
  });
  expect(paid.status).toBe(201);
  const { workflowId, payment, confirmUrl } = (await paid.json()) as {
    workflowId: string;
    payment: { status: string; clientSecret?: string };
    confirmUrl: string;
  };
  expect(payment).toMatchObject({ status: 'requires_action', clientSecret: expect.stringMatching(/^pi_.+_secret_/) });
  expect((await fetch(confirmUrl)).status).toBe(200);
  // As the page asks once it shows the bank step: for what comes after it.
  const polled = await fetch(`${checkoutUrl}/payment/${workflowId}?after=requires_action`);
  expect(await polled.json()).toMatchObject({ payment: { status: 'paid' } });
}

describe('npm start (the local stack)', () => {
  it('runs an order through every part, prints where to look, stops on Ctrl-C and keeps runs across restarts', async () => {
    const ports = {
      TEMPORAL_PORT: String(await freePort()),
      TEMPORAL_UI_PORT: String(await freePort()),
      PORT: String(await freePort()),
      CHECKOUT_PORT: String(await freePort()),
    };
    const first = await startStack(ports, /Ctrl-C stops everything/);
    const demo = /Demo order (ord_\d+) completed: (\{.*\})/.exec(first.output());
    expect(demo, first.output()).not.toBeNull();
    expect(JSON.parse(demo![2])).toMatchObject({ status: 'paid', receipt: 'sent', opsNotified: false });
    expect(first.output()).toContain(`curl -X POST http://localhost:${ports.PORT}/api/workflows/order-processing/trigger`);
    expect(first.output()).toContain(`Web UI         http://localhost:${ports.TEMPORAL_UI_PORT}`);
    expect(first.output()).toMatch(/temporal binary: (TEMPORAL_CLI_PATH|found on PATH|project cache|built with Go|downloaded)/);
    const webUi = await fetch(`http://localhost:${ports.TEMPORAL_UI_PORT}/`);
    expect(webUi.status).toBe(200);
    await checkoutPagePays(first.output(), ports.CHECKOUT_PORT);

    expect(await interrupt(first)).toBe(0);
    expect(first.output()).toContain('Stopped.');

    const second = await startStack(ports, /Ctrl-C stops everything/);
    const earlier = await fetch(`http://localhost:${ports.PORT}/api/runs/order-${demo![1]}`, {
      headers: { authorization: 'Bearer ask_local_dev_key' },
    });
    expect(earlier.status).toBe(200);
    expect(await earlier.json()).toMatchObject({ status: 'completed', result: { orderId: demo![1], status: 'paid' } });
    expect(await interrupt(second)).toBe(0);
  });
});
