import { answersOk, freePort, spawnProcess, stopProcess, waitUntil } from '../../dev/processes.js';
import { ensureTool, STRIPE_MOCK } from '../../dev/tools.js';

export interface StripeMock {
  url: string;
  stop(): Promise<void>;
}

/** Starts stripe-mock (Stripe's own server, built from its OpenAPI spec) on a free loopback port. */
export async function startStripeMock(): Promise<StripeMock> {
  const tool = ensureTool(STRIPE_MOCK);
  const port = await freePort();
  // Its HTTPS listener would take the fixed port 12112 otherwise: two test files could not each run one.
  const mock = spawnProcess(`stripe-mock (${tool.route})`, tool.path, ['-http-addr', `127.0.0.1:${port}`, '-https-addr', '127.0.0.1:']);
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    await stopProcess(mock.child);
  };
  try {
    await waitUntil(() => answersOk(`${url}/v1/charges`, { headers: { authorization: 'Bearer sk_test_123' } }), {
      timeoutMs: 30_000,
      what: `stripe-mock to answer on ${url}`,
      process: mock,
    });
  } catch (error) {
    await stop();
    throw error;
  }
  return { url, stop };
}
