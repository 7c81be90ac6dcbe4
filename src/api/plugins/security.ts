import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import { createBearerTokenVerifier } from '../../http/bearer-token.js';
import type { RateLimit } from '../../config/api.js';
import { sendError } from '../../http/error-reply.js';

export interface SecurityOptions {
  triggerApiKeys: readonly string[];
  /** Per API key; per client IP for requests without a valid key. */
  rateLimit: RateLimit;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** 401 without a valid API key; a preParsing hook, so key guessing is rate limited too and no body is read first. */
    requireApiKey: (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply | undefined>;
  }
}

/** Security headers (helmet), the rate limit, and the API key check routes opt into with `preParsing: app.requireApiKey`. */
async function security(app: FastifyInstance, { triggerApiKeys, rateLimit: limit }: SecurityOptions): Promise<void> {
  const verifyApiKey = createBearerTokenVerifier(triggerApiKeys);
  await app.register(helmet, { contentSecurityPolicy: false, global: true });
  await app.register(rateLimit, {
    max: limit.max,
    timeWindow: limit.windowMs,
    keyGenerator: (request) => verifyApiKey(request.headers.authorization) ?? `ip:${request.ip}`,
    errorResponseBuilder: (_request, context) => ({
      statusCode: 429,
      error: {
        code: 'rate_limited',
        message: `More than ${context.max} requests in ${context.after}; retry after ${Math.ceil(context.ttl / 1000)} s`,
      },
    }),
  });
  app.decorate('requireApiKey', async (request: FastifyRequest, reply: FastifyReply) => {
    if (verifyApiKey(request.headers.authorization) !== undefined) return undefined;
    reply.header('www-authenticate', 'Bearer');
    return sendError(reply, 401, 'unauthorized', 'Send a valid API key as "Authorization: Bearer <key>"');
  });
}

export default fp(security, { name: 'security' });
