/**
 * `npm start`: the whole local stack in one command, with nothing but Node (and Go, or internet):
 * a Temporal dev server with a SQLite file under .data/ and its Web UI, the sandbox stand-ins for
 * Stripe, Resend, Slack and the order backend, the worker and the API as their own processes, and the
 * codec server that lets the Web UI and the CLI show the encrypted payloads, and the sandbox checkout
 * page. Runs one order through it, prints where to look, and stops everything cleanly on Ctrl-C.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { Client, Connection } from '@temporalio/client';
import { buildCodecApp } from '../src/codec/app.js';
import { DEV_CODEC_KEYS } from './codec-dev-key.js';
import { DEFAULT_CHECKOUT_PORT, startCheckoutPage } from './checkout-page.js';
import { EncryptionCodec } from '../src/codec/encryption-codec.js';
import { loadCodecConfig, type CodecKey } from '../src/config/codec.js';
import { DEFAULT_API_PORT } from '../src/config/api.js';
import { DEFAULT_CODEC_PORT, loadCodecServerConfig, type CodecServerConfig } from '../src/config/codec-server.js';
import { DEFAULT_NAMESPACE, DEFAULT_TASK_QUEUE, DEFAULT_TEMPORAL_PORT, DEFAULT_TEMPORAL_UI_PORT } from '../src/config/temporal.js';
import { LOG_REDACTIONS } from '../src/http/bearer-token.js';
import type { DevServer } from './temporal-server.js';
import type { Sandbox } from './sandbox/index.js';
import { STRIPE_WEBHOOK_PATH, TRIGGER_PATH } from '../src/api/app.js';
import { answersOk, API, freePort, waitUntil, WORKER } from './processes.js';
import { LocalStack } from './stack.js';
import { loadWorkerBuildId, makeCurrentVersion } from '../src/worker/deployment.js';

const DATA_DIR = process.env.DEV_DATA_DIR ?? fileURLToPath(new URL('../.data', import.meta.url));
const TEMPORAL_PORT = Number(process.env.TEMPORAL_PORT ?? DEFAULT_TEMPORAL_PORT);
const TEMPORAL_UI_PORT = Number(process.env.TEMPORAL_UI_PORT ?? DEFAULT_TEMPORAL_UI_PORT);
const API_PORT = Number(process.env.PORT ?? DEFAULT_API_PORT);
const API_KEY = process.env.TRIGGER_API_KEYS?.split(',')[0]?.trim() || 'ask_local_dev_key';
const API_URL = `http://localhost:${API_PORT}`;
/** The local stack's Stripe webhook secret: the Stripe stand-in signs its events with it, the API verifies them. */
const WEBHOOK_SECRET = process.env.STRIPE_WEBHOOK_SECRET ?? `whsec_local_${randomBytes(16).toString('hex')}`;
// Encryption is on, as in production: the user's TEMPORAL_CODEC_KEYS, else the public development key.
const CODEC_KEYS = process.env.TEMPORAL_CODEC_KEYS?.trim() || DEV_CODEC_KEYS;

async function assertPortFree(port: number, variable: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const probe = createServer();
    probe.once('error', () =>
      reject(new Error(`Port ${port} is already in use: stop what listens there (another stack?) or set ${variable} to another port.`)),
    );
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve()));
  });
}

/**
 * `variable`'s port when set (it must be free); else the default, or any free port when that is taken
 * (the codec server: the stack wires the UI to it; the checkout page: its URL is printed).
 */
async function pickPort(variable: string, defaultPort: number): Promise<number> {
  if (process.env[variable] !== undefined) {
    const port = Number(process.env[variable]);
    await assertPortFree(port, variable);
    return port;
  }
  return assertPortFree(defaultPort, variable).then(
    () => defaultPort,
    () => freePort(),
  );
}

/**
 * The codec server, in this process like the stand-ins, for the Web UI's origins. The Web UI of the dev
 * server cannot send a token, so unless CODEC_AUTH_TOKENS is set the server runs without authentication:
 * it listens on 127.0.0.1 only and holds the development key.
 */
async function startCodecServer(keys: CodecKey[], port: number): Promise<{ app: FastifyInstance; config: CodecServerConfig; url: string }> {
  const config = loadCodecServerConfig({
    CODEC_PORT: String(port),
    CODEC_HOST: '127.0.0.1',
    CODEC_CORS_ORIGIN: `http://localhost:${TEMPORAL_UI_PORT},http://127.0.0.1:${TEMPORAL_UI_PORT}`,
    ...(process.env.CODEC_AUTH_TOKENS ? { CODEC_AUTH_TOKENS: process.env.CODEC_AUTH_TOKENS } : { CODEC_AUTH_DISABLED: 'true' }),
  });
  const app = buildCodecApp({
    codec: new EncryptionCodec(keys),
    namespace: DEFAULT_NAMESPACE,
    corsOrigins: config.corsOrigins,
    authTokens: config.authTokens,
    logger: { level: process.env.LOG_LEVEL ?? 'warn', redact: LOG_REDACTIONS },
  });
  await app.listen({ port: config.port, host: config.host });
  return { app, config, url: `http://localhost:${config.port}` };
}

function seedCurl(orderId: string): string {
  return [
    `curl -X POST ${API_URL}${TRIGGER_PATH} \\`,
    `  -H "Authorization: Bearer ${API_KEY}" \\`,
    `  -H "Content-Type: application/json" \\`,
    `  -d '{`,
    `    "connectionId": "local",`,
    `    "params": {`,
    `      "orderId": "${orderId}",`,
    `      "customerId": "cus_abc",`,
    `      "amount": 4999,`,
    `      "currency": "usd",`,
    `      "email": "customer@example.com"`,
    `    }`,
    `  }'`,
  ].join('\n');
}

/** Triggers one order over HTTP, as a user would, and waits for its result. */
async function runDemoOrder(uiUrl: string | undefined): Promise<void> {
  const orderId = `ord_${Date.now()}`;
  const response = await fetch(`${API_URL}${TRIGGER_PATH}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      connectionId: 'local',
      params: { orderId, customerId: 'cus_abc', amount: 4999, currency: 'usd', email: 'customer@example.com' },
    }),
  });
  const started = (await response.json()) as { workflowId: string; runId: string };
  console.log(`\nDemo order ${orderId}: HTTP ${response.status}, workflow ${started.workflowId}, run ${started.runId}`);
  const readRun = async () => {
    const run = (await (
      await fetch(`${API_URL}/api/runs/${started.workflowId}`, { headers: { authorization: `Bearer ${API_KEY}` } })
    ).json()) as { status: string; result?: unknown; failure?: unknown };
    return run.status !== 'running' && run;
  };
  const run = await waitUntil(readRun, { timeoutMs: 60_000, what: `demo order ${orderId} to finish`, intervalMs: 500 }).catch(
    () => undefined,
  );
  if (!run) {
    console.log(`Demo order ${orderId} is still running; look at it in the Web UI.`);
    return;
  }
  console.log(`Demo order ${orderId} ${run.status}: ${JSON.stringify(run.result ?? run.failure)}`);
  if (uiUrl) console.log(`  Web UI: ${uiUrl}/namespaces/default/workflows/${started.workflowId}`);
}

function printGuide(server: DevServer, sandbox: Sandbox, codecUrl: string, codecAuth: boolean, checkoutUrl: string): void {
  const codecFlags = `--codec-endpoint ${codecUrl}${codecAuth ? ` --codec-auth 'Bearer <one of CODEC_AUTH_TOKENS>'` : ''}`;
  console.log(`
Order processing stack is up. Ctrl-C stops everything.

  API            ${API_URL}  (API key: ${API_KEY})
  Temporal       ${server.address}  (binary: ${server.route})
  Web UI         ${server.uiUrl ?? '(none)'}  (decodes payloads through the codec server${codecAuth ? ' only if it can send a token' : ''})
  Codec server   ${codecUrl}  (${codecAuth ? 'Authorization: Bearer <one of CODEC_AUTH_TOKENS>' : 'no token: loopback only, local stack only'})
  Checkout page  ${checkoutUrl}  (sandbox checkout: a customer who pays, declines or needs the bank; pay, see the answer)
  Stand-ins      Stripe ${sandbox.env.STRIPE_API_URL} (signed webhooks to ${API_URL}${STRIPE_WEBHOOK_PATH})  Resend ${sandbox.env.RESEND_BASE_URL}
                 Slack ${sandbox.env.SLACK_API_URL}  order backend ${sandbox.env.API_BASE_URL}
  Run data       ${DATA_DIR}/temporal.sqlite (survives restarts)

Trigger an order (the seed's example; change orderId for a new order, repeat it to see the existing run):

${seedCurl('ord_001')}

Then:
  curl -H "Authorization: Bearer ${API_KEY}" ${API_URL}/api/runs/order-ord_001
  curl ${sandbox.env.API_BASE_URL}/orders/ord_001
  temporal workflow show --address ${server.address} --workflow-id order-ord_001 --detailed ${codecFlags}
  temporal workflow query --address ${server.address} --workflow-id order-ord_001 --name status ${codecFlags}
  (without --codec-endpoint the payloads show as binary/encrypted: that is all Temporal stores)

Sandbox behaviours, by customerId (docs/sandbox.md has them all):
  cus_decline                      the card is declined (generic_decline): payment_failed
  cus_decline_insufficient_funds   declined with that decline code (also expired_card, incorrect_cvc, ...)
  cus_no_payment_method            no default payment method: payment_failed, no_payment_method
  cus_fail_500_x2                  Stripe answers 500 twice before executing, then charges (same idempotency key)
  cus_error_after_charge           Stripe charges, then answers 500 and replays it: the run asks Stripe, paid
  cus_down                         Stripe unreachable: payment_pending, ops told; the run keeps asking
  cus_authenticate                 the card needs its holder: payment_pending, the customer is emailed a link
                                   (${sandbox.env.PAYMENT_ACTION_URL}); opening it pays
  cus_authenticate_completes       as above, and the customer confirms by themselves 3 s later: paid
  cus_burns_keys                   Stripe burns the first keys (a stored 500, nothing done): sent again under the next, paid
  orderId ord_refuse_paid_...      the backend refuses to record it paid (409): refunded in full, ops told
                                   (with cus_refund_pending the refund settles 3 s later; with cus_refund_fails it fails)

Refund a paid order (all of it, or { "amount": <minor units> }; the same Idempotency-Key never refunds twice):
  curl -X POST -H "Authorization: Bearer ${API_KEY}" -H "Content-Type: application/json" -H "Idempotency-Key: refund-ord_001-1" \
    -d '{}' ${API_URL}/api/runs/order-ord_001/refund
`);
}

mkdirSync(DATA_DIR, { recursive: true });
const stack = new LocalStack();
let exiting = false;

async function stop(exitCode: number): Promise<void> {
  if (exiting) return;
  exiting = true;
  console.log('\nStopping: checkout page, API, worker, stand-ins, Temporal dev server, codec server...');
  await stack.stopAll();
  console.log('Stopped.');
  process.exit(exitCode);
}

process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));

try {
  await assertPortFree(TEMPORAL_PORT, 'TEMPORAL_PORT');
  await assertPortFree(TEMPORAL_UI_PORT, 'TEMPORAL_UI_PORT');
  await assertPortFree(API_PORT, 'PORT');
  const codec = loadCodecConfig({ ...process.env, TEMPORAL_CODEC_KEYS: CODEC_KEYS });
  if (!codec.enabled) throw new Error('The local stack always encrypts: unset TEMPORAL_CODEC_DISABLED');
  if (CODEC_KEYS === DEV_CODEC_KEYS) {
    console.log(
      'Payloads are encrypted with the DEVELOPMENT key "local-dev" (public, in dev/codec-dev-key.ts): fine for this laptop, ' +
        'never for real data. Set TEMPORAL_CODEC_KEYS to use your own.',
    );
  }
  const codecServer = await startCodecServer(codec.keys, await pickPort('CODEC_PORT', DEFAULT_CODEC_PORT));
  stack.add(() => codecServer.app.close());
  console.log(`Codec server at ${codecServer.url}`);
  console.log('Starting the Temporal dev server...');
  const server = await stack.startTemporal({
    port: TEMPORAL_PORT,
    uiPort: TEMPORAL_UI_PORT,
    uiCodecEndpoint: codecServer.url,
    dbFilename: `${DATA_DIR}/temporal.sqlite`,
  });
  console.log(`Temporal dev server at ${server.address}; temporal binary: ${server.route}`);
  const sandbox = await stack.startSandbox();
  // Warnings and errors only, so the guide below stays readable; LOG_LEVEL=info shows every request and activity.
  const commonEnv = {
    TEMPORAL_ADDRESS: server.address,
    TEMPORAL_NAMESPACE: DEFAULT_NAMESPACE,
    TEMPORAL_TASK_QUEUE: DEFAULT_TASK_QUEUE,
    TEMPORAL_CODEC_KEYS: CODEC_KEYS,
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
  };
  const processes = [
    stack.startProcess(WORKER, { ...commonEnv, ...sandbox.env }, (line) => console.log(`[worker] ${line}`)),
    stack.startProcess(
      API,
      {
        ...commonEnv,
        TRIGGER_API_KEYS: API_KEY,
        PORT: String(API_PORT),
        HOST: '127.0.0.1',
        STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
        // On-session orders: the API reads the PaymentIntent's client secret for the checkout.
        STRIPE_SECRET_KEY: sandbox.env.STRIPE_SECRET_KEY,
        STRIPE_API_URL: sandbox.env.STRIPE_API_URL,
      },
      (line) => console.log(`[api] ${line}`),
    ),
  ];
  for (const started of processes) {
    stack.onUnexpectedExit(started, (how) => {
      console.error(`The ${started.name} exited unexpectedly (${how}); stopping the stack.`);
      void stop(1);
    });
  }
  await waitUntil(() => answersOk(`${API_URL}/readyz`), {
    timeoutMs: 60_000,
    what: `the API to be ready at ${API_URL}/readyz`,
    process: processes[1],
  });
  sandbox.stripe.sendWebhooksTo(`${API_URL}${STRIPE_WEBHOOK_PATH}`, WEBHOOK_SECRET);
  const checkout = await startCheckoutPage({
    apiUrl: API_URL,
    apiKey: API_KEY,
    stripeUrl: sandbox.env.STRIPE_API_URL,
    port: await pickPort('CHECKOUT_PORT', DEFAULT_CHECKOUT_PORT),
  });
  stack.add(() => checkout.close());
  // The kept dev database may have an older commit's build current: the checkout that runs now takes over.
  const connection = await Connection.connect({ address: server.address });
  stack.add(() => connection.close());
  await makeCurrentVersion(new Client({ connection, namespace: DEFAULT_NAMESPACE }), loadWorkerBuildId(), { force: true });
  await runDemoOrder(server.uiUrl);
  printGuide(server, sandbox, codecServer.url, codecServer.config.authTokens.length > 0, checkout.url);
} catch (error) {
  console.error(`\nThe stack could not start: ${(error as Error).message}`);
  await stop(1);
}
