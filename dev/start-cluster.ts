/**
 * `npm run cluster`: the production topology of docker-compose.yml, natively on loopback (dev/cluster.ts):
 * PostgreSQL, the Temporal server, its Web UI, the codec server, two workers and two API instances, with
 * the sandbox stand-ins as providers. Prints where everything is; Ctrl-C stops it all in order; the
 * runs are kept in `.data/cluster/` for the next start.
 */
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { TRIGGER_PATH } from '../src/api/app.js';
import { DEV_CODEC_KEYS } from './codec-dev-key.js';
import { Cluster, DEFAULT_CLUSTER_PORTS } from './cluster.js';

const DATA_DIR = `${process.env.DEV_DATA_DIR ?? fileURLToPath(new URL('../.data', import.meta.url))}/cluster`;
const API_KEY = process.env.TRIGGER_API_KEYS?.split(',')[0]?.trim() || 'ask_local_dev_key';
const CODEC_KEYS = process.env.TEMPORAL_CODEC_KEYS?.trim() || DEV_CODEC_KEYS;

let stopping = false;
const cluster = new Cluster({
  dataDir: DATA_DIR,
  ports: DEFAULT_CLUSTER_PORTS,
  codecKeys: CODEC_KEYS,
  apiKey: API_KEY,
  webhookSecret: process.env.STRIPE_WEBHOOK_SECRET ?? `whsec_cluster_${randomBytes(16).toString('hex')}`,
  logLevel: process.env.LOG_LEVEL ?? 'warn',
  // Once stopping, the server's complaints about its own services going away are noise.
  onLine: (name, line) => !(stopping && name === 'temporal server') && console.log(`[${name}] ${line}`),
  onUnexpectedExit: (name, how) => {
    console.error(`The ${name} exited unexpectedly (${how}); stopping the cluster.`);
    void stop(1);
  },
});

async function stop(exitCode: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  console.log('\nStopping: APIs, workers, stand-ins, Web UI, codec server, Temporal server, PostgreSQL...');
  await cluster.stop();
  console.log('Stopped.');
  process.exit(exitCode);
}
process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));

try {
  console.log(`Starting the production topology on loopback; data in ${DATA_DIR}`);
  await cluster.start();
  const [firstApi, secondApi] = cluster.apiUrls;
  console.log(`
The cluster is up. Ctrl-C stops everything.

  PostgreSQL     ${cluster.postgresAddress}  (user temporal; ${cluster.postgresRoute})
  Temporal       ${cluster.address}  (namespace default; ${cluster.serverRoute})
  Web UI         ${cluster.uiUrl}  (${cluster.uiRoute})
  Codec server   ${cluster.codecUrl}  (no token: loopback only)
  API 1, API 2   ${firstApi}, ${secondApi}  (API key: ${API_KEY})
  Workers        2, task queue order-processing
  Stand-ins      Stripe ${cluster.sandbox?.env.STRIPE_API_URL}  order backend ${cluster.sandbox?.env.API_BASE_URL}
  Run data       ${DATA_DIR}/postgresql (survives restarts)

Trigger an order through either API:
  curl -X POST ${secondApi}${TRIGGER_PATH} -H "Authorization: Bearer ${API_KEY}" -H "Content-Type: application/json" \\
    -d '{"params":{"orderId":"ord_001","customerId":"cus_abc","amount":4999,"currency":"usd","email":"customer@example.com"}}'
  curl -H "Authorization: Bearer ${API_KEY}" ${firstApi}/api/runs/order-ord_001
  temporal workflow show --address ${cluster.address} --workflow-id order-ord_001 --codec-endpoint ${cluster.codecUrl}
`);
} catch (error) {
  console.error(`\nThe cluster could not start: ${(error as Error).message}`);
  await stop(1);
}
