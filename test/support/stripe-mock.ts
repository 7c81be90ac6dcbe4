import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { ensureTool, STRIPE_MOCK } from '../../dev/tools.js';
import { freePort } from '../../dev/temporal-server.js';

export interface StripeMock {
  url: string;
  stop(): void;
}

/** Starts stripe-mock (Stripe's own server, built from its OpenAPI spec) on a free loopback port. */
export async function startStripeMock(): Promise<StripeMock> {
  const tool = ensureTool(STRIPE_MOCK);
  const port = await freePort();
  // Its HTTPS listener would take the fixed port 12112 otherwise: two test files could not each run one.
  const child = spawn(tool.path, ['-http-addr', `127.0.0.1:${port}`, '-https-addr', '127.0.0.1:'], { stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`stripe-mock (${tool.route}) exited with code ${child.exitCode}`);
    const ready = await fetch(`${url}/v1/charges`, { headers: { authorization: 'Bearer sk_test_123' } }).then(
      (response) => response.ok,
      () => false,
    );
    if (ready) return { url, stop: () => child.kill('SIGTERM') };
    await sleep(200);
  }
  child.kill('SIGKILL');
  throw new Error(`stripe-mock did not answer on ${url} within 30s`);
}
