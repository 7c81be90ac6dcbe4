/** What the service adds to its OpenTelemetry spans: IDs and attempts, never personal data (docs/operations.md#tracing). */
import { ORDER_WORKFLOW_TYPE, orderIdOfWorkflowId } from './order.js';
import { parseReconcileWorkflowId, RECONCILE_WORKFLOW_TYPE } from './reconciliation.js';

export const ORDER_ID_ATTRIBUTE = 'order.id';
/** The API request's ID (X-Request-Id), on the request's span. */
export const REQUEST_ID_ATTRIBUTE = 'request.id';
/** Which attempt of an activity a span is: 1, then one more per retry. */
export const ACTIVITY_ATTEMPT_ATTRIBUTE = 'temporal.activity.attempt';

/** The order a run is about: an order's own run (`order-<orderId>`) or a reconcile run; none for the sweep or a key claim. */
export function orderIdOfRun(workflowType: string, workflowId: string): string | undefined {
  if (workflowType === ORDER_WORKFLOW_TYPE) return orderIdOfWorkflowId(workflowId);
  if (workflowType === RECONCILE_WORKFLOW_TYPE) return parseReconcileWorkflowId(workflowId)?.orderId;
  return undefined;
}
