import type { FastifyInstance } from 'fastify';
import { isGrpcServiceError } from '@temporalio/client';
import { status as GrpcStatus } from '@grpc/grpc-js';
import type { ApiContext } from '../context.js';
import { sendError, sendTemporalUnavailable } from '../../http/error-reply.js';
import { healthSchema } from '../schemas.js';
import { sendSearchAttributesMissing } from '../search-attribute-check.js';

const READINESS_DEADLINE_MS = 2_000;

/**
 * `/readyz` describes the namespace, which reads Temporal's database, so a cluster whose database is down is not ready;
 * and the search attributes the service writes must be registered.
 */
export function registerHealthRoutes(app: FastifyInstance, { client, findMissingSearchAttributes }: ApiContext): void {
  const probe = { rateLimit: false };
  app.get('/healthz', { config: probe, schema: { summary: 'Liveness', response: { 200: healthSchema } } }, async () => ({ status: 'ok' }));
  app.get(
    '/readyz',
    {
      config: probe,
      schema: {
        summary: 'Readiness: Temporal reachable, namespace readable, search attributes registered',
        response: { 200: healthSchema, 503: { $ref: 'Error#' } },
      },
    },
    async (_request, reply) => {
      const { namespace } = client.options;
      try {
        await client.connection.withDeadline(Date.now() + READINESS_DEADLINE_MS, () =>
          client.workflowService.describeNamespace({ namespace }),
        );
      } catch (error) {
        if (isGrpcServiceError(error) && error.code === GrpcStatus.NOT_FOUND) {
          return sendError(
            reply,
            503,
            'namespace_not_found',
            `Namespace ${namespace} does not exist on this Temporal server; register it: temporal operator namespace create --namespace ${namespace}`,
            { namespace },
          );
        }
        return sendTemporalUnavailable(reply, `Temporal cannot describe namespace ${namespace}: it or its database is not reachable`);
      }
      const missing = await findMissingSearchAttributes();
      if (missing) return sendSearchAttributesMissing(reply, missing);
      return { status: 'ready' };
    },
  );
}
