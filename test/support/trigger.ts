/** Triggering an order as a client does: over a listening port, or in process through inject(). */
import type { FastifyInstance } from 'fastify';
import { TRIGGER_PATH } from '../../src/api/app.js';

type Headers = Record<string, string>;

/** The body as sent: an object as JSON, a string as it is (for malformed bodies). */
const payload = (body: unknown) => (typeof body === 'string' ? body : JSON.stringify(body));
const defaultHeaders = (apiKey: string): Headers => ({ authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' });

/** POST to the trigger endpoint of a listening API with `apiKey`; `headers` override. */
export function postTrigger(baseUrl: string, apiKey: string, body: unknown, headers: Headers = {}): Promise<Response> {
  return fetch(`${baseUrl}${TRIGGER_PATH}`, { method: 'POST', headers: { ...defaultHeaders(apiKey), ...headers }, body: payload(body) });
}

/** The same request through `app.inject()`: no socket. */
export function injectTrigger(app: FastifyInstance, apiKey: string, body: unknown, headers: Headers = {}) {
  return app.inject({ method: 'POST', url: TRIGGER_PATH, headers: { ...defaultHeaders(apiKey), ...headers }, payload: payload(body) });
}
