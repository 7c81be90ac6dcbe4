/**
 * One trace per order, API request to every activity attempt (docs/operations.md#tracing). What a span may carry is
 * decided here once: IDs, names and attempts, never a provider's error message, which can quote the customer.
 */
import { context, propagation, trace, type Attributes, type Tracer } from '@opentelemetry/api';
import type { WorkflowClientInterceptor } from '@temporalio/client';
import { OpenTelemetryWorkflowClientInterceptor } from '@temporalio/interceptors-opentelemetry/lib/client/index.js';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator, type ExportResult } from '@opentelemetry/core';
import { OTLPTraceExporter as OtlpJsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OtlpProtobufExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { Resource } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  type ReadableSpan,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import type { TracingConfig } from '../config/tracing.js';
import { ORDER_ID_ATTRIBUTE } from '../domain/span-attributes.js';
import { orderIdOfRun } from '../workflows/names.js';

/** This process's tracing: off (nothing is recorded), or on with the provider's processor and resource. */
export type Tracing =
  | { enabled: false; shutdown(): Promise<void> }
  | {
      enabled: true;
      /** The process's tracer. */
      tracer: Tracer;
      /** Receives the spans the workflow code records (through the worker's sink). */
      spanProcessor: SpanProcessor;
      resource: Resource;
      /** Exports the spans still buffered, then stops; for a clean exit. */
      shutdown(): Promise<void>;
    };

const TRACER_NAME = 'order-processing';

export const TRACING_OFF: Tracing = { enabled: false, shutdown: () => Promise.resolve() };

/** Tracing that is on. */
export type TracingOn = Extract<Tracing, { enabled: true }>;

/**
 * Tracing for this process when OTEL_EXPORTER_OTLP_ENDPOINT is set: a tracer provider registered
 * globally (the SDK's interceptors use it), W3C trace context, spans batched to the OTLP endpoint.
 */
export function startTracing(config: TracingConfig | undefined): Tracing {
  if (!config) return TRACING_OFF;
  const resource = new Resource({ 'service.name': config.serviceName });
  const otlp =
    config.protocol === 'http/json' ? new OtlpJsonExporter({ url: config.tracesUrl }) : new OtlpProtobufExporter({ url: config.tracesUrl });
  const spanProcessor = new BatchSpanProcessor(new RedactingExporter(otlp));
  const provider = new BasicTracerProvider({ resource, spanProcessors: [spanProcessor] });
  provider.register({ contextManager: new AsyncLocalStorageContextManager(), propagator: new W3CTraceContextPropagator() });
  return {
    enabled: true,
    tracer: provider.getTracer(TRACER_NAME),
    spanProcessor,
    resource,
    shutdown: async () => {
      await provider.shutdown();
      trace.disable();
      context.disable();
      propagation.disable();
    },
  };
}

/**
 * A client's workflow interceptors: a span for each start (and signal, query, cancel) that the run
 * continues from its headers, naming the order on a start; none when tracing is off.
 */
export function clientTracing(tracing: Tracing): WorkflowClientInterceptor[] {
  if (!tracing.enabled) return [];
  const nameOrder = (workflowType: string, workflowId: string) => {
    const orderId = orderIdOfRun(workflowType, workflowId);
    if (orderId) trace.getActiveSpan()?.setAttribute(ORDER_ID_ATTRIBUTE, orderId);
  };
  // After the SDK's interceptor, so inside its span.
  const orderOnStartSpan: WorkflowClientInterceptor = {
    start: (input, next) => {
      nameOrder(input.workflowType, input.options.workflowId);
      return next(input);
    },
    startWithDetails: (input, next) => {
      nameOrder(input.workflowType, input.options.workflowId);
      return next(input);
    },
  };
  return [new OpenTelemetryWorkflowClientInterceptor({ tracer: tracing.tracer }), orderOnStartSpan];
}

/**
 * Error messages stay out because providers quote what they were sent (the message is in the encrypted history); non-plain
 * attributes too, because the SDK copies the whole workflow info, memo and search attributes included, onto a run's spans.
 */
class RedactingExporter implements SpanExporter {
  constructor(private readonly next: SpanExporter) {}

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    this.next.export(spans.map(redacted), done);
  }

  shutdown(): Promise<void> {
    return this.next.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.next.forceFlush?.() ?? Promise.resolve();
  }
}

const KEPT_EVENT_ATTRIBUTES = ['exception.type'];

function plainValues(attributes: Attributes): Attributes {
  return Object.fromEntries(
    Object.entries(attributes).filter(([, value]) => ['string', 'number', 'boolean'].includes(typeof value) && value !== ''),
  );
}

function redacted(span: ReadableSpan): ReadableSpan {
  // The span stays the prototype: its spanContext() and every other field are read through it.
  return Object.create(span, {
    status: { value: { code: span.status.code } },
    attributes: { value: plainValues(span.attributes) },
    events: {
      value: span.events.map(({ name, time, attributes = {} }) => ({
        name,
        time,
        attributes: Object.fromEntries(Object.entries(attributes).filter(([key]) => KEPT_EVENT_ATTRIBUTES.includes(key))),
      })),
    },
  }) as ReadableSpan;
}
