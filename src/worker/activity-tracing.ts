/**
 * The worker's side of tracing: a span per activity attempt, continuing the run's trace and naming the
 * order and the attempt, and the sink the workflow code's spans leave the sandbox through.
 */
import { trace } from '@opentelemetry/api';
import type { Context as ActivityContext } from '@temporalio/activity';
import {
  makeWorkflowExporter,
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
} from '@temporalio/interceptors-opentelemetry/lib/worker/index.js';
import type { ActivityInboundCallsInterceptor, ActivityInterceptorsFactory, WorkerOptions } from '@temporalio/worker';
import { fileURLToPath } from 'node:url';
import { ACTIVITY_ATTEMPT_ATTRIBUTE, ORDER_ID_ATTRIBUTE } from '../domain/span-attributes.js';
import type { TracingOn } from '../telemetry/opentelemetry.js';
import { orderIdOfRun } from '../workflows/names.js';

/** The workflow interceptors module of the traced workflow bundle (src/workflows/tracing-interceptors.ts). */
export const WORKFLOW_TRACING_INTERCEPTORS = fileURLToPath(new URL('../workflows/tracing-interceptors', import.meta.url));

/** Runs inside the SDK's activity span: names the order and the attempt on it. */
class OrderOnActivitySpan implements ActivityInboundCallsInterceptor {
  constructor(private readonly ctx: ActivityContext) {}

  execute: ActivityInboundCallsInterceptor['execute'] = (input, next) => {
    const { workflowType, workflowExecution, attempt } = this.ctx.info;
    const span = trace.getActiveSpan();
    span?.setAttribute(ACTIVITY_ATTEMPT_ATTRIBUTE, attempt);
    const orderId = workflowType && workflowExecution && orderIdOfRun(workflowType, workflowExecution.workflowId);
    if (orderId) span?.setAttribute(ORDER_ID_ATTRIBUTE, orderId);
    return next(input);
  };
}

/** The activity interceptors: the SDK's span first, then the order's attributes on it. */
export function activityTracing(tracing: TracingOn): ActivityInterceptorsFactory[] {
  return [
    (ctx) => ({
      inbound: new OpenTelemetryActivityInboundInterceptor(ctx, { tracer: tracing.tracer }),
      outbound: new OpenTelemetryActivityOutboundInterceptor(ctx),
    }),
    (ctx) => ({ inbound: new OrderOnActivitySpan(ctx) }),
  ];
}

/** The sink the traced bundle's workflow interceptors export their spans through. */
export function workflowSpanSinks(tracing: TracingOn): NonNullable<WorkerOptions['sinks']> {
  return { exporter: makeWorkflowExporter(tracing.spanProcessor, tracing.resource) };
}
