import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Span, type Tracer } from '@opentelemetry/api';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { ORDER_ID_ATTRIBUTE, REQUEST_ID_ATTRIBUTE } from '../../domain/span-attributes.js';
import { UNMATCHED_ROUTE } from './metrics.js';
import { orderIdOfWorkflowId } from '../../workflows/names.js';

export interface RequestTracingOptions {
  tracer: Tracer;
}

/**
 * The handler runs in the request's span, so the workflow start it makes, and through its headers the run, joins the same
 * trace. Never the URL's query, the client's address or a body: they can carry personal data.
 */
async function requestTracing(app: FastifyInstance, { tracer }: RequestTracingOptions): Promise<void> {
  const spans = new WeakMap<FastifyRequest, Span>();
  app.addHook('onRequest', async (request) => {
    const parent = propagation.extract(ROOT_CONTEXT, request.headers);
    const span = tracer.startSpan(
      request.method,
      { kind: SpanKind.SERVER, attributes: { 'http.request.method': request.method, [REQUEST_ID_ATTRIBUTE]: request.id } },
      parent,
    );
    spans.set(request, span);
  });
  // The body is read between onRequest and here, outside any context: the handler is entered from this hook.
  app.addHook('preHandler', (request, _reply, done) => {
    const span = spans.get(request);
    if (!span) return done();
    const { workflowId } = request.params as { workflowId?: unknown };
    const orderId = typeof workflowId === 'string' && orderIdOfWorkflowId(workflowId);
    if (orderId) span.setAttribute(ORDER_ID_ATTRIBUTE, orderId);
    context.with(trace.setSpan(context.active(), span), done);
  });
  app.addHook('onResponse', async (request, reply) => {
    const span = spans.get(request);
    if (!span) return;
    const route = request.routeOptions.url ?? UNMATCHED_ROUTE;
    span.updateName(`${request.method} ${route}`);
    span.setAttributes({ 'http.route': route, 'http.response.status_code': reply.statusCode });
    if (reply.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    span.end();
  });
  app.addHook('onRequestAbort', async (request) => {
    const span = spans.get(request);
    span?.setAttribute('http.request.aborted', true);
    span?.end();
  });
}

export default fp(requestTracing, { name: 'request-tracing' });
