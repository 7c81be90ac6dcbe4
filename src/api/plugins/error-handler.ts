import { maxHeaderSize, STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { isGrpcServiceError, ServiceError } from '@temporalio/client';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { describeSchemaError } from '../../domain/schema-errors.js';
import { sendError, sendTemporalUnavailable } from '../../http/error-reply.js';
import { errorSchema } from '../schemas.js';

/** Temporal cannot be reached (down, or the deadline passed): the client should retry later. */
function isTemporalUnavailable(error: unknown): boolean {
  // The client wraps gRPC errors in its ServiceError, with the gRPC error as the cause.
  const grpcError = error instanceof ServiceError ? error.cause : error;
  return (
    isGrpcServiceError(grpcError) && [GrpcStatus.UNAVAILABLE, GrpcStatus.DEADLINE_EXCEEDED, GrpcStatus.CANCELLED].includes(grpcError.code)
  );
}

/** Fastify's clientErrorHandler: Node's HTTP parser fails these before Fastify sees them, yet they get the usual error body. */
export function answerClientError(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, code, message] =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'headers_too_large', `Request headers exceed ${maxHeaderSize} bytes; send shorter headers`]
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'request_timeout', 'The request was not received in time; send it again']
        : [400, 'bad_request', 'Malformed HTTP request'];
  const body = JSON.stringify({ error: { code, message } });
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(error);
}

/**
 * Every error in one shape, the `Error#` schema (docs/api.md#errors). Registered before every route: a route keeps the
 * error handler in force when it is added.
 */
async function errors(app: FastifyInstance): Promise<void> {
  app.addSchema(errorSchema);
  app.setErrorHandler((error: Error & { statusCode?: number; validation?: unknown; validationContext?: string }, request, reply) => {
    if (error.validation) {
      const context = error.validationContext ?? 'body';
      const problem = describeSchemaError((error.validation as Parameters<typeof describeSchemaError>[0][])[0], context);
      const code = problem.field.startsWith('params.') ? 'invalid_order' : 'invalid_request';
      return sendError(reply, 400, code, `${problem.field} ${problem.reason}`, { ...problem });
    }
    // The rate limiter's answer (security.ts's errorResponseBuilder) carries its status beside the body: send the body only.
    if (error.statusCode === 429) return reply.code(429).send({ error: (error as Error & { error?: unknown }).error });
    if (error.statusCode === 413)
      return sendError(reply, 413, 'body_too_large', `Request body exceeds ${request.routeOptions.bodyLimit} bytes`);
    if (error.statusCode === 415) return sendError(reply, 415, 'unsupported_media_type', 'Send the body as application/json');
    if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
      return sendError(reply, error.statusCode, 'bad_request', error.message);
    }
    if (isTemporalUnavailable(error)) {
      request.log.warn({ err: error }, 'Temporal unavailable');
      return sendTemporalUnavailable(reply, 'The workflow service is unavailable; retry after Retry-After seconds');
    }
    request.log.error({ err: error }, 'Unhandled error');
    return sendError(reply, 500, 'internal_error', 'Internal error');
  });
  app.setNotFoundHandler((request, reply) =>
    sendError(reply, 404, 'not_found', `No route for ${request.method} ${request.url.split('?')[0]}`),
  );
}

export default fp(errors, { name: 'errors' });
