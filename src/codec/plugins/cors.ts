import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { sendError } from '../../http/error-reply.js';

export interface CorsOptions {
  /** Browser origins allowed to call the codec server (the Temporal Web UI's); any other is refused with 403. */
  origins: readonly string[];
}

const ALLOWED_HEADERS = 'Authorization, Content-Type, X-Namespace';
const PREFLIGHT_MAX_AGE_SECONDS = 600;

/** The Web UI calls the codec server from the browser: configured origins only. Requests without an Origin (the CLI) pass. */
async function cors(app: FastifyInstance, { origins }: CorsOptions): Promise<void> {
  app.addHook('onRequest', async (request, reply) => {
    const origin = request.headers.origin;
    reply.header('vary', 'Origin');
    if (origin === undefined) return;
    if (!origins.includes(origin)) {
      return sendError(
        reply,
        403,
        'origin_not_allowed',
        `Origin ${origin} may not call this codec server; allowed: ${origins.join(', ') || 'none'} (CODEC_CORS_ORIGIN)`,
      );
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
}

export default fp(cors, { name: 'codec-cors' });
