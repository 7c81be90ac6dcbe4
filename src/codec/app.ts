import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import type { PayloadCodec } from '@temporalio/common';
import { JSONToPayload, payloadToJSON, type JSONPayload } from '@temporalio/common/lib/proto-utils.js';
import { sendError } from '../http/error-reply.js';
import { createBearerTokenVerifier } from '../http/bearer-token.js';
import cors from './plugins/cors.js';
import errors from './plugins/error-handler.js';

export interface CodecAppOptions {
  codec: PayloadCodec;
  /** The namespace whose keys this server holds; requests naming another in X-Namespace are refused. */
  namespace: string;
  /** Browser origins allowed by CORS (the Temporal Web UI). */
  corsOrigins: readonly string[];
  /** Accepted bearer tokens; an empty list turns authentication off (CODEC_AUTH_DISABLED=true). */
  authTokens: readonly string[];
  logger?: FastifyServerOptions['logger'];
}

/** A history's payloads can be large; Temporal's own limit per payload is 2 MB by default. */
const BODY_LIMIT_BYTES = 8 * 1024 * 1024;

const base64 = { type: 'string', pattern: '^[A-Za-z0-9+/_-]*={0,2}$' };
// Proto JSON omits empty repeated fields: `{}` is an empty list of payloads (the CLI sends it for a query without arguments).
const payloadsBodySchema = {
  type: 'object',
  properties: {
    payloads: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          metadata: { type: ['object', 'null'], additionalProperties: base64 },
          data: { anyOf: [base64, { type: 'null' }] },
        },
      },
    },
  },
};

/**
 * The Temporal remote codec protocol (docs/encryption.md#codec-server). The Web UI calls it from the browser, so CORS admits
 * the configured origins only.
 */
export function buildCodecApp({ codec, namespace, corsOrigins, authTokens, logger = false }: CodecAppOptions): FastifyInstance {
  const app = Fastify({ logger, bodyLimit: BODY_LIMIT_BYTES });
  app.removeContentTypeParser('text/plain');
  const verifyToken = createBearerTokenVerifier(authTokens);
  const isAuthorized = (authorization: string | undefined) => authTokens.length === 0 || verifyToken(authorization) !== undefined;

  void app.register(cors, { origins: corsOrigins });
  void app.register(errors);

  // Before the body is even read: who asks, and for which namespace.
  const admit = async (request: FastifyRequest, reply: FastifyReply) => {
    if (!isAuthorized(request.headers.authorization)) {
      reply.header('www-authenticate', 'Bearer');
      return sendError(reply, 401, 'unauthorized', 'Send "Authorization: Bearer <token>" with one of CODEC_AUTH_TOKENS');
    }
    // The temporal CLI sends the header empty: only a named namespace is checked.
    const requested = request.headers['x-namespace'];
    if (requested && requested !== namespace) {
      return sendError(
        reply,
        403,
        'namespace_not_served',
        `This codec server holds the keys of namespace "${namespace}", not "${String(requested)}"`,
      );
    }
  };

  const transform = (routes: FastifyInstance, direction: 'encode' | 'decode') => {
    routes.post<{ Body: { payloads?: JSONPayload[] } }>(
      `/${direction}`,
      { onRequest: admit, schema: { body: payloadsBodySchema } },
      async (request, reply) => {
        let payloads;
        try {
          payloads = (request.body.payloads ?? []).map(JSONToPayload);
        } catch (error) {
          return sendError(reply, 400, 'invalid_request', `A payload is not valid proto JSON: ${(error as Error).message}`);
        }
        let transformed;
        try {
          transformed = direction === 'encode' ? await codec.encode(payloads) : await codec.decode(payloads);
        } catch (error) {
          return sendError(reply, 400, `${direction}_failed`, (error as Error).message);
        }
        return { payloads: transformed.map(payloadToJSON) };
      },
    );
  };
  // Routes in a plugin of their own, so they are added once CORS and the error handler are in force.
  void app.register(async (routes) => {
    transform(routes, 'encode');
    transform(routes, 'decode');
    routes.get('/healthz', async () => ({ status: 'ok' }));
  });
  return app;
}
