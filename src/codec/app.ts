import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import type { PayloadCodec } from '@temporalio/common';
import { JSONToPayload, payloadToJSON, type JSONPayload } from '@temporalio/common/lib/proto-utils.js';
import { createBearerTokenVerifier } from '../bearer-token.js';

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
const ALLOWED_HEADERS = 'Authorization, Content-Type, X-Namespace';
const PREFLIGHT_MAX_AGE_SECONDS = 600;

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

function sendError(reply: FastifyReply, status: number, code: string, message: string) {
  return reply.code(status).send({ error: { code, message } });
}

/**
 * The Temporal remote codec protocol over HTTP: POST /encode and POST /decode take and answer
 * `{ payloads: [...] }` in proto JSON form (metadata values and data base64). Used by
 * `temporal --codec-endpoint` and by the Web UI, which calls it from the browser: CORS admits the
 * configured origins only, with credentials and the Authorization and X-Namespace headers.
 */
export function buildCodecApp({ codec, namespace, corsOrigins, authTokens, logger = false }: CodecAppOptions): FastifyInstance {
  const app = Fastify({ logger, bodyLimit: BODY_LIMIT_BYTES });
  app.removeContentTypeParser('text/plain');
  const verifyToken = createBearerTokenVerifier(authTokens);
  const isAuthorized = (authorization: string | undefined) => authTokens.length === 0 || verifyToken(authorization) !== undefined;

  app.addHook('onRequest', async (request, reply) => {
    const origin = request.headers.origin;
    reply.header('vary', 'Origin');
    if (origin === undefined) return;
    if (!corsOrigins.includes(origin)) {
      return sendError(reply, 403, 'origin_not_allowed', `Origin ${origin} may not call this codec server; allowed: ${corsOrigins.join(', ') || 'none'} (CODEC_CORS_ORIGIN)`);
    }
    reply.header('access-control-allow-origin', origin).header('access-control-allow-credentials', 'true');
    if (request.method === 'OPTIONS') {
      return reply
        .code(204)
        .header('access-control-allow-methods', 'POST, OPTIONS')
        .header('access-control-allow-headers', ALLOWED_HEADERS)
        .header('access-control-max-age', String(PREFLIGHT_MAX_AGE_SECONDS))
        .send();
    }
  });

  app.setErrorHandler((error: Error & { statusCode?: number; validation?: unknown }, request, reply) => {
    if (error.validation) return sendError(reply, 400, 'invalid_request', `Expected { "payloads": [{ "metadata": {...}, "data": "<base64>" }] }: ${error.message}`);
    if (error.statusCode === 413) return sendError(reply, 413, 'body_too_large', `The body exceeds ${BODY_LIMIT_BYTES} bytes; send fewer payloads per request`);
    if (error.statusCode && error.statusCode < 500) return sendError(reply, error.statusCode, 'bad_request', error.message);
    request.log.error({ err: error }, 'codec request failed');
    return sendError(reply, 500, 'internal_error', 'The codec server failed; see its log');
  });

  // Before the body is even read: who asks, and for which namespace.
  const admit = async (request: FastifyRequest, reply: FastifyReply) => {
    if (!isAuthorized(request.headers.authorization)) {
      return reply.header('www-authenticate', 'Bearer').code(401).send({
        error: { code: 'unauthorized', message: 'Send "Authorization: Bearer <token>" with one of CODEC_AUTH_TOKENS' },
      });
    }
    // The temporal CLI sends the header empty: only a named namespace is checked.
    const requested = request.headers['x-namespace'];
    if (requested && requested !== namespace) {
      return sendError(reply, 403, 'namespace_not_served', `This codec server holds the keys of namespace "${namespace}", not "${String(requested)}"`);
    }
  };

  const transform = (direction: 'encode' | 'decode') => {
    app.post<{ Body: { payloads?: JSONPayload[] } }>(`/${direction}`, { onRequest: admit, schema: { body: payloadsBodySchema } }, async (request, reply) => {
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
    });
  };
  transform('encode');
  transform('decode');
  app.get('/healthz', async () => ({ status: 'ok' }));
  return app;
}
