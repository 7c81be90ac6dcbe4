import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { sendError } from '../../http/error-reply.js';

/** The codec server's errors, in the API's one shape `{ error: { code, message } }`; registered before its routes. */
async function errors(app: FastifyInstance): Promise<void> {
  app.setErrorHandler((error: Error & { statusCode?: number; validation?: unknown }, request, reply) => {
    if (error.validation)
      return sendError(
        reply,
        400,
        'invalid_request',
        `Expected { "payloads": [{ "metadata": {...}, "data": "<base64>" }] }: ${error.message}`,
      );
    if (error.statusCode === 413) {
      return sendError(
        reply,
        413,
        'body_too_large',
        `The body exceeds ${request.routeOptions.bodyLimit} bytes; send fewer payloads per request`,
      );
    }
    if (error.statusCode && error.statusCode < 500) return sendError(reply, error.statusCode, 'bad_request', error.message);
    request.log.error({ err: error }, 'codec request failed');
    return sendError(reply, 500, 'internal_error', 'The codec server failed; see its log');
  });
}

export default fp(errors, { name: 'codec-errors' });
