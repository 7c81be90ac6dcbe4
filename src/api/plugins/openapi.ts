import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';

/** /openapi.json and /docs, from the schemas of every route registered after this plugin. */
async function openapi(app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    openapi: {
      info: {
        title: 'Order processing API',
        version: '1.0.0',
        description:
          "Trigger durable order runs (charge, receipt or ops alert, order status), inspect, cancel or refund them; receive Stripe's webhook events.",
      },
      components: { securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'one of TRIGGER_API_KEYS' } } },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true });
  app.get('/openapi.json', { schema: { hide: true }, config: { rateLimit: false } }, async () => app.swagger());
}

export default fp(openapi, { name: 'openapi' });
