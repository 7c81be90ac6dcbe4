import { Runtime, type Logger } from '@temporalio/worker';
import type { MetricsEndpoint } from '../config/process.js';
import { hostPort, scrapeUrl } from '../telemetry/metrics-endpoint.js';

/**
 * An unbindable port is logged and the worker runs on: a missing target shows as `up == 0`, a worker that refused to start stops orders.
 * @returns the scrape URL, or undefined when the endpoint could not be started.
 */
export function installWorkerRuntime(logger: Logger, endpoint: MetricsEndpoint): string | undefined {
  try {
    Runtime.install({ logger, telemetryOptions: { metrics: { prometheus: { bindAddress: hostPort(endpoint) } } } });
    return scrapeUrl(endpoint);
  } catch (error) {
    // Core reports "Failed to start prometheus metrics exporter: <os error>"; anything else is not ours to absorb.
    if (!/prometheus/i.test((error as Error).message)) throw error;
    logger.error(
      `Worker metrics not served: ${(error as Error).message} (${hostPort(endpoint)}). ` +
        'Set WORKER_METRICS_PORT (and METRICS_HOST) to a free address; the worker runs without its metrics endpoint.',
    );
    Runtime.install({ logger });
    return undefined;
  }
}
