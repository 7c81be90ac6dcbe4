import { WorkflowIdReusePolicy, type Client } from '@temporalio/client';
import { ORDER_WORKFLOW_TYPE, workflowIdForOrder, type OrderParams, type OrderResult } from './domain/order.js';

/**
 * Starts an order's workflow under its business key `order-<orderId>`. One order, one run, ever:
 * a second start, while the first runs or after it closed, throws WorkflowExecutionAlreadyStartedError
 * instead of charging again (REJECT_DUPLICATE reuse policy, default FAIL conflict policy).
 */
export function startOrderWorkflow(client: Client, taskQueue: string, params: OrderParams) {
  return client.workflow.start<(params: OrderParams) => Promise<OrderResult>>(ORDER_WORKFLOW_TYPE, {
    workflowId: workflowIdForOrder(params.orderId),
    taskQueue,
    args: [params],
    workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
  });
}
