import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';
import type { MetricsEndpoint } from '../../config/process.js';
import { scrapeUrl } from '../../telemetry/metrics-endpoint.js';
import { API_METRICS } from '../../domain/metric-names.js';

/** The `route` label of requests no route matched (404s), so scanners probing URLs add no series. */
export const UNMATCHED_ROUTE = 'unmatched';

export interface ApiMetricsOptions {
  /** The trigger's route: its 201 answers (a new run started) count as orders started. */
  triggerPath: string;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The API's Prometheus metrics, which serveApiMetrics serves. */
    apiMetrics: Registry;
  }
}

/**
 * Labelled by route pattern, never the raw URL, to bound the series. Requests Node's HTTP parser rejects before Fastify
 * sees them (431, malformed request lines) are not counted.
 */
async function apiMetrics(app: FastifyInstance, { triggerPath }: ApiMetricsOptions): Promise<void> {
  const registry = new Registry();
  const requestDuration = new Histogram({
    name: API_METRICS.requestDuration.name,
    help: API_METRICS.requestDuration.description,
    labelNames: ['method', 'route', 'status_code'] as const,
    registers: [registry],
  });
  const ordersStarted = new Counter({
    name: API_METRICS.ordersStarted.name,
    help: API_METRICS.ordersStarted.description,
    registers: [registry],
  });
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? UNMATCHED_ROUTE;
    requestDuration.observe({ method: request.method, route, status_code: reply.statusCode }, reply.elapsedTime / 1000);
    if (route === triggerPath && reply.statusCode === 201) ordersStarted.inc();
  });
  app.decorate('apiMetrics', registry);
}

export default fp(apiMetrics, { name: 'api-metrics' });

/**
 * On a port of its own: it needs no key yet tells volumes, so only Prometheus's network should reach it. Answers the scrape
 * URL, or undefined when the port cannot be bound: that is logged, and the API goes on rather than refuse orders.
 */
export async function serveApiMetrics(app: FastifyInstance, endpoint: MetricsEndpoint): Promise<string | undefined> {
  // The app's plugins load when it starts; the registry is there once they have.
  await app.after();
  const registry = app.apiMetrics;
  const server = createServer((request, response) => {
    if (request.method !== 'GET' || request.url?.split('?')[0] !== '/metrics') {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('Metrics are served at GET /metrics\n');
      return;
    }
    registry.metrics().then(
      (text) => response.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (error: unknown) => {
        app.log.error({ err: error }, 'Metrics could not be collected');
        response.writeHead(500, { 'content-type': 'text/plain' }).end('Metrics could not be collected\n');
      },
    );
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(endpoint.port, endpoint.host, () => resolve());
    });
  } catch (error) {
    app.log.error(
      { err: error },
      `API metrics not served on ${endpoint.host}:${endpoint.port}: set API_METRICS_PORT (and METRICS_HOST) to a free address; the API runs without its metrics endpoint`,
    );
    return undefined;
  }
  collectDefaultMetrics({ register: registry });
  app.addHook('onClose', async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const url = scrapeUrl({ host: endpoint.host, port: (server.address() as AddressInfo).port });
  app.log.info(`API metrics for Prometheus at ${url}`);
  return url;
}
