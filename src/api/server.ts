import { Client, Connection } from '@temporalio/client';
import { loadApiConfig, loadApiMetricsConfig } from '../config/api.js';
import { loadCodecConfig } from '../config/codec.js';
import { loadLogLevel } from '../config/process.js';
import { loadTemporalConfig } from '../config/temporal.js';
import { loadApiTracingConfig } from '../config/tracing.js';
import { createDataConverter } from '../codec/data-converter.js';
import { runMain } from '../config/run-main.js';
import { clientTracing, startTracing } from '../telemetry/opentelemetry.js';
import { buildApp } from './app.js';
import { createStripeClient } from '../activities/clients.js';
import { serveApiMetrics } from './plugins/metrics.js';

// Wiring only: one Temporal client per process, closed when the server closes on SIGINT/SIGTERM.
runMain(async () => {
  const api = loadApiConfig();
  const metrics = loadApiMetricsConfig();
  const temporal = loadTemporalConfig();
  const codec = loadCodecConfig();
  const level = loadLogLevel();
  const tracing = startTracing(loadApiTracingConfig());
  // Lazy: the API starts (and answers 503) while Temporal is still coming up.
  const connection = Connection.lazy(temporal.connection);
  // The same keys as the worker: the API starts runs (encrypting their input) and reads their results.
  const client = new Client({
    connection,
    namespace: temporal.namespace,
    dataConverter: createDataConverter(codec),
    interceptors: { workflow: clientTracing(tracing) },
  });
  const app = buildApp({
    client,
    taskQueue: temporal.taskQueue,
    triggerApiKeys: api.triggerApiKeys,
    webUiUrl: api.webUiUrl,
    rateLimit: api.rateLimit,
    stripeWebhookSecret: api.stripeWebhookSecret,
    webhookRateLimit: api.webhookRateLimit,
    ...(api.stripe && { stripe: createStripeClient(api.stripe) }),
    log: { level },
    tracing,
  });
  app.addHook('onClose', async () => {
    await connection.close();
    await tracing.shutdown();
  });
  let closing = false;
  // While draining, answers close their connection, so keep-alive clients do not hold the close open.
  app.addHook('onSend', async (_request, reply) => {
    if (closing) reply.header('connection', 'close');
  });
  // Graceful stop: refuse new connections, let in-flight requests finish, then close the Temporal
  // connection; past the grace period, stop anyway.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      closing = true;
      app.log.warn(`${signal} received: draining in-flight requests (at most ${api.shutdownGraceMs / 1000} s)`);
      setTimeout(() => {
        app.log.error('Grace period over: stopping with requests still in flight');
        process.exit(1);
      }, api.shutdownGraceMs).unref();
      void app.close();
    });
  }
  await serveApiMetrics(app, metrics);
  await app.listen({ port: api.port, host: api.host });
});
