/**
 * The workflow side of tracing, bundled with the workflow code (`bundleOrderWorkflows`). A run started
 * with a trace context in its headers (by a client with tracing on, as the API's) is traced by the SDK's
 * OpenTelemetry interceptors: its span continues the start's, names its order, and each activity it
 * schedules carries the trace on; the spans leave the sandbox through the worker's `exporter` sink. A
 * run started without one (tracing off, the CLI, the reconciliation schedule) records no spans and adds
 * no headers: tracing costs nothing where it is off. Which one a run is stays fixed in its history.
 */
import { trace } from '@opentelemetry/api';
import { TRACE_HEADER } from '@temporalio/interceptors-opentelemetry/lib/instrumentation.js';
import {
  OpenTelemetryInboundInterceptor,
  OpenTelemetryInternalsInterceptor,
  OpenTelemetryOutboundInterceptor,
} from '@temporalio/interceptors-opentelemetry/lib/workflow/index.js';
import {
  workflowInfo,
  type WorkflowInboundCallsInterceptor,
  type WorkflowInterceptors,
  type WorkflowOutboundCallsInterceptor,
} from '@temporalio/workflow';
import { ORDER_ID_ATTRIBUTE, orderIdOfRun } from '../domain/tracing.js';

type Inbound = Required<Pick<WorkflowInboundCallsInterceptor, 'execute' | 'handleSignal' | 'handleQuery'>>;
type Outbound = Required<
  Pick<WorkflowOutboundCallsInterceptor, 'scheduleActivity' | 'scheduleLocalActivity' | 'startChildWorkflowExecution' | 'getLogAttributes'>
>;

/** Names the run's order on the active span: the SDK's run span. */
function nameOrderOnRunSpan(): void {
  const { workflowType, workflowId } = workflowInfo();
  const orderId = orderIdOfRun(workflowType, workflowId);
  if (orderId) trace.getActiveSpan()?.setAttribute(ORDER_ID_ATTRIBUTE, orderId);
}

export const interceptors = (): WorkflowInterceptors => {
  // Set when the run turns out to be traced: the SDK's interceptors for this run.
  let traced: { inbound: Inbound; outbound: Outbound } | undefined;
  const inbound: Inbound = {
    execute: (input, next) => {
      if (!input.headers[TRACE_HEADER]) return next(input);
      traced = { inbound: new OpenTelemetryInboundInterceptor(), outbound: new OpenTelemetryOutboundInterceptor() };
      return traced.inbound.execute(input, (withTrace) => {
        nameOrderOnRunSpan();
        return next(withTrace);
      });
    },
    handleSignal: (input, next) => (traced ? traced.inbound.handleSignal(input, next) : next(input)),
    handleQuery: (input, next) => (traced ? traced.inbound.handleQuery(input, next) : next(input)),
  };
  const outbound: Outbound = {
    scheduleActivity: (input, next) => (traced ? traced.outbound.scheduleActivity(input, next) : next(input)),
    scheduleLocalActivity: (input, next) => (traced ? traced.outbound.scheduleLocalActivity(input, next) : next(input)),
    startChildWorkflowExecution: (input, next) => (traced ? traced.outbound.startChildWorkflowExecution(input, next) : next(input)),
    getLogAttributes: (input, next) => (traced ? traced.outbound.getLogAttributes(input, next) : next(input)),
  };
  return { inbound: [inbound], outbound: [outbound], internals: [new OpenTelemetryInternalsInterceptor()] };
};
