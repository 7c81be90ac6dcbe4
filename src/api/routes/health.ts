import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../context.js';
import { sendError } from '../errors.js';
import { healthSchema } from '../schemas.js';
import { sendSearchAttributesMissing } from '../search-attributes.js';

const READINESS_DEADLINE_MS = 2_000;

/**
 * Probes: `/healthz` the process is up; `/readyz` Temporal answers and its namespace has the search
 * attributes the service writes (OrderOutcome, OrderIdempotencyKey). Not rate limited.
 */
export function registerHealthRoutes(app: FastifyInstance, { client, findMissingSearchAttributes }: ApiContext): void {
  const probe = { rateLimit: false };
  app.get('/healthz', { config: probe, schema: { summary: 'Liveness', response: { 200: healthSchema } } }, async () => ({ status: 'ok' }));
  app.get(
    '/readyz',
    {
      config: probe,
      schema: {
        summary: 'Readiness: Temporal reachable, search attributes registered',
        response: { 200: healthSchema, 503: { $ref: 'Error#' } },
      },
    },
    async (_request, reply) => {
      try {
        await client.connection.withDeadline(Date.now() + READINESS_DEADLINE_MS, () => client.workflowService.getSystemInfo({}));
      } catch {
        return sendError(reply, 503, 'temporal_unavailable', 'Temporal is not reachable');
      }
      const missing = await findMissingSearchAttributes();
      if (missing) return sendSearchAttributesMissing(reply, missing);
      return { status: 'ready' };
    },
  );
}
