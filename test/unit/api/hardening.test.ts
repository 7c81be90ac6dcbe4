/**
 * What every route shares, in process on the stand-in Temporal frontend: rate limits, security headers,
 * request IDs, log lines without secrets, the one error shape for unknown routes, and the OpenAPI
 * document. Temporal unreachable over a real connection is in test/e2e/api-runs.test.ts.
 */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../../src/api/app.js';
import { sampleOrder } from '../../support/orders.js';
import type { TemporalStandIn } from '../../support/temporal-stand-in.js';
import { useApiOnStandIn } from '../../support/api-on-stand-in.js';
import { injectTrigger } from '../../support/trigger.js';

const API_KEY = 'ask_hardening_key_0001';
const TASK_QUEUE = 'order-processing-unit';
const auth = { authorization: `Bearer ${API_KEY}` };

let temporal: TemporalStandIn;
let app: FastifyInstance;

useApiOnStandIn({ taskQueue: TASK_QUEUE, triggerApiKeys: [API_KEY] }, (standIn, built) => ([temporal, app] = [standIn, built]));

describe('rate limits', () => {
  it('limits per API key with 429 and Retry-After; another key has its own budget, probes none, and key guesses share the IP budget', async () => {
    const limited = buildApp({
      client: temporal.client(),
      taskQueue: TASK_QUEUE,
      triggerApiKeys: [API_KEY, 'ask_other_key_9'],
      rateLimit: { max: 3, windowMs: 60_000 },
    });
    const statuses = [];
    for (let i = 0; i < 5; i += 1)
      statuses.push((await limited.inject({ method: 'GET', url: '/api/runs/order-x', headers: auth })).statusCode);
    expect(statuses).toEqual([404, 404, 404, 429, 429]);
    const limitedResponse = await limited.inject({ method: 'GET', url: '/api/runs/order-x', headers: auth });
    expect(limitedResponse.headers['retry-after']).toMatch(/^\d+$/);
    expect(limitedResponse.json()).toEqual({
      error: { code: 'rate_limited', message: expect.stringMatching(/^More than 3 requests in 1 minute; retry after \d+ s$/) },
    });
    // Another key has its own budget; probes are never limited.
    expect(
      (await limited.inject({ method: 'GET', url: '/api/runs/order-x', headers: { authorization: 'Bearer ask_other_key_9' } })).statusCode,
    ).toBe(404);
    expect((await limited.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    expect((await limited.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
    // Guessing keys is limited too: requests without a valid key share their client's budget.
    const guesses = [];
    for (let i = 0; i < 5; i += 1)
      guesses.push(
        (await limited.inject({ method: 'GET', url: '/api/runs/order-x', headers: { authorization: `Bearer guess_${i}` } })).statusCode,
      );
    expect(guesses).toEqual([401, 401, 401, 429, 429]);
    await limited.close();
  });
});

describe('every answer', () => {
  it('sends security headers and a request ID, keeping a well-formed caller ID', async () => {
    const response = await app.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': 'trace-123' } });
    expect(response.json()).toEqual({ status: 'ok' });
    expect(response.headers['x-request-id']).toBe('trace-123');
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    expect(response.headers['strict-transport-security']).toBeDefined();
    const generated = await app.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': 'bad id\twith spaces' } });
    expect(generated.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('answers an unknown route or method 404 in the error shape, with the request ID', async () => {
    for (const [method, url] of [
      ['GET', '/api/nothing-here?key=secret'],
      ['DELETE', '/api/runs/order-x'],
      ['GET', '/api/workflows/order-processing/trigger'],
    ] as const) {
      const response = await app.inject({ method, url, headers: auth });
      expect(response.statusCode, `${method} ${url}`).toBe(404);
      expect(response.headers['content-type']).toMatch(/^application\/json/);
      expect(response.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
      expect(response.json()).toEqual({ error: { code: 'not_found', message: `No route for ${method} ${url.split('?')[0]}` } });
    }
  });

  it('is logged with its request ID, never with the API key or the customer email', async () => {
    const lines: string[] = [];
    const stream = new Writable({ write: (chunk, _encoding, done) => (lines.push(chunk.toString()), done()) });
    const logged = buildApp({
      client: temporal.client(),
      taskQueue: TASK_QUEUE,
      triggerApiKeys: [API_KEY],
      log: { level: 'info', stream },
    });
    const order = sampleOrder({ email: 'very-private@example.com' });
    const response = await injectTrigger(logged, API_KEY, { params: order }, { 'x-request-id': 'log-check-1' });
    expect(response.statusCode).toBe(201);
    await injectTrigger(logged, API_KEY, { params: { ...order, email: 'broken@' } });
    await logged.close();
    const text = lines.join('');
    expect(lines.length).toBeGreaterThan(3);
    expect(text).toContain('"reqId":"log-check-1"');
    expect(text).toContain('Order workflow started');
    expect(text).not.toContain(API_KEY);
    expect(text).not.toContain('very-private');
    expect(text).not.toContain('broken@');
  });
});

describe('the OpenAPI document', () => {
  it('is built from the route schemas and served with a docs page, without the API key', async () => {
    const response = await app.inject({ method: 'GET', url: '/openapi.json' });
    expect(response.statusCode).toBe(200);
    const openapi = response.json();
    expect(openapi.openapi).toMatch(/^3\./);
    const trigger = openapi.paths['/api/workflows/order-processing/trigger'].post;
    expect(trigger.security).toEqual([{ apiKey: [] }]);
    const params = trigger.requestBody.content['application/json'].schema.properties.params;
    expect(params.required).toEqual(['orderId', 'customerId', 'amount', 'email']);
    expect(params.properties.amount).toMatchObject({ type: 'integer', minimum: 1 });
    expect(Object.keys(openapi.paths)).toEqual(
      expect.arrayContaining([
        '/api/runs',
        '/api/runs/{workflowId}',
        '/api/runs/{workflowId}/cancel',
        '/api/runs/{workflowId}/payment',
        '/api/runs/{workflowId}/refund',
        '/webhooks/stripe',
        '/healthz',
        '/readyz',
      ]),
    );
    expect(openapi.paths['/openapi.json']).toBeUndefined();
    expect(openapi.components.securitySchemes.apiKey).toMatchObject({ type: 'http', scheme: 'bearer' });
    const docs = await app.inject({ method: 'GET', url: '/docs/' });
    expect(docs.statusCode).toBe(200);
    expect(docs.headers['content-type']).toContain('text/html');
    expect(temporal.requests).toEqual([]);
  });
});
