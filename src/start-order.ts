import { WorkflowIdReusePolicy, type Client } from '@temporalio/client';
import { defineSearchAttributeKey, SearchAttributeType, TypedSearchAttributes } from '@temporalio/common';
import { ORDER_WORKFLOW_TYPE, workflowIdForOrder, type OrderParams, type OrderResult } from './domain/order.js';

/**
 * The search attribute holding a trigger's Idempotency-Key, so a key can be traced to its run. The
 * local dev server registers it; on a cluster: `temporal operator search-attribute create --name
 * OrderIdempotencyKey --type Keyword`.
 */
export const ORDER_IDEMPOTENCY_KEY = defineSearchAttributeKey('OrderIdempotencyKey', SearchAttributeType.KEYWORD);

/**
 * Starts an order's workflow under its business key `order-<orderId>`. One order, one run, ever:
 * a second start, while the first runs or after it closed, throws WorkflowExecutionAlreadyStartedError
 * instead of charging again (REJECT_DUPLICATE reuse policy, default FAIL conflict policy).
 */
export function startOrderWorkflow(client: Client, taskQueue: string, params: OrderParams, idempotencyKey?: string) {
  return client.workflow.start<(params: OrderParams) => Promise<OrderResult>>(ORDER_WORKFLOW_TYPE, {
    workflowId: workflowIdForOrder(params.orderId),
    taskQueue,
    args: [params],
    workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
    ...(idempotencyKey && { typedSearchAttributes: new TypedSearchAttributes([{ key: ORDER_IDEMPOTENCY_KEY, value: idempotencyKey }]) }),
  });
}

/** The workflow ID of the order run started with this Idempotency-Key, if any (from visibility). */
export async function findRunByIdempotencyKey(client: Client, idempotencyKey: string): Promise<string | undefined> {
  // The key's characters are restricted by the trigger's schema, so it cannot break out of the quotes.
  for await (const run of client.workflow.list({ query: `${ORDER_IDEMPOTENCY_KEY.name} = '${idempotencyKey}'`, pageSize: 1 })) {
    return run.workflowId;
  }
  return undefined;
}
