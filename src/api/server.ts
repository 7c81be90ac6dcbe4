import { Client, Connection } from '@temporalio/client';
import { loadApiConfig, loadLogLevel, loadTemporalConfig } from '../config.js';
import { runMain } from '../run-main.js';
import { buildApp } from './app.js';

/** Headers and fields that must never reach a log line. */
const LOG_REDACTIONS = ['req.headers.authorization', 'req.headers.cookie'];

// Wiring only: one Temporal client per process, closed when the server closes on SIGINT/SIGTERM.
runMain(async () => {
  const api = loadApiConfig();
  const temporal = loadTemporalConfig();
  const level = loadLogLevel();
  // Lazy: the API starts (and answers 503) while Temporal is still coming up.
  const connection = Connection.lazy(temporal.connection);
  const client = new Client({ connection, namespace: temporal.namespace });
  const app = buildApp({
    client,
    taskQueue: temporal.taskQueue,
    triggerApiKeys: api.triggerApiKeys,
    logger: { level, redact: LOG_REDACTIONS },
  });
  app.addHook('onClose', async () => connection.close());
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      app.log.warn(`${signal} received: closing the API`);
      void app.close();
    });
  }
  await app.listen({ port: api.port, host: api.host });
});
