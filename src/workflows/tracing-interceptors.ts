/**
 * In the traced workflow bundle only: these interceptors cost about 160 MB of worker memory just by being bundled
 * (docs/operations.md#tracing). Spans leave the sandbox through the worker's `exporter` sink.
 */
import { trace } from '@opentelemetry/api';
import {
  OpenTelemetryInboundInterceptor,
  OpenTelemetryInternalsInterceptor,
  OpenTelemetryOutboundInterceptor,
} from '@temporalio/interceptors-opentelemetry/lib/workflow/index.js';
import { workflowInfo, type WorkflowInboundCallsInterceptor, type WorkflowInterceptors } from '@temporalio/workflow';
import { ORDER_ID_ATTRIBUTE } from '../domain/span-attributes.js';
import { orderIdOfRun } from './names.js';

/** Runs inside the SDK's run span: names the order on it. */
class OrderOnRunSpan implements WorkflowInboundCallsInterceptor {
  execute: NonNullable<WorkflowInboundCallsInterceptor['execute']> = (input, next) => {
    const { workflowType, workflowId } = workflowInfo();
    const orderId = orderIdOfRun(workflowType, workflowId);
    if (orderId) trace.getActiveSpan()?.setAttribute(ORDER_ID_ATTRIBUTE, orderId);
    return next(input);
  };
}

export const interceptors = (): WorkflowInterceptors => ({
  inbound: [new OpenTelemetryInboundInterceptor(), new OrderOnRunSpan()],
  outbound: [new OpenTelemetryOutboundInterceptor()],
  internals: [new OpenTelemetryInternalsInterceptor()],
});
