import { WorkflowIdReusePolicy, type Client } from '@temporalio/client';
import { TypedSearchAttributes, WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { formatAmount } from '../domain/money.js';
import { DEFAULT_CURRENCY, type OrderParams, type OrderResult } from '../domain/order.js';
import { ORDER_IDEMPOTENCY_KEY } from '../domain/search-attributes.js';
import {
  CLAIMED_ORDER_MEMO,
  claimWorkflowId,
  KEY_CLAIM_WORKFLOW_TYPE,
  ORDER_WORKFLOW_TYPE,
  workflowIdForOrder,
} from '../workflows/names.js';

/** The run's summary in the Web UI list and its page: the order and its amount, never the customer's details. */
export function orderRunSummary(params: OrderParams): string {
  try {
    return `Order ${params.orderId}: ${formatAmount(params.amount, params.currency ?? DEFAULT_CURRENCY)}`;
  } catch {
    return `Order ${params.orderId}`; // params Parse Order will refuse (an unknown currency): the run says why
  }
}

/**
 * One order, one run, ever: REJECT_DUPLICATE makes a second start throw WorkflowExecutionAlreadyStartedError, while the
 * first runs or after it closed, instead of charging again (docs/workflow.md#one-order-one-run).
 */
export function startOrderWorkflow(client: Client, taskQueue: string, params: OrderParams, idempotencyKey?: string) {
  return client.workflow.start<(params: OrderParams) => Promise<OrderResult>>(ORDER_WORKFLOW_TYPE, {
    workflowId: workflowIdForOrder(params.orderId),
    taskQueue,
    args: [params],
    staticSummary: orderRunSummary(params),
    workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
    ...(idempotencyKey && { typedSearchAttributes: new TypedSearchAttributes([{ key: ORDER_IDEMPOTENCY_KEY, value: idempotencyKey }]) }),
  });
}

/**
 * Answers the workflow ID of the order holding the key. A workflow whose ID is the key: REJECT_DUPLICATE makes it one per
 * key for the namespace's retention, with no visibility lag (docs/api.md#idempotency-key).
 */
export async function claimIdempotencyKey(
  client: Client,
  taskQueue: string,
  idempotencyKey: string,
  orderWorkflowId: string,
): Promise<string> {
  const workflowId = claimWorkflowId(idempotencyKey);
  try {
    await client.workflow.start(KEY_CLAIM_WORKFLOW_TYPE, {
      workflowId,
      taskQueue,
      args: [orderWorkflowId],
      memo: { [CLAIMED_ORDER_MEMO]: orderWorkflowId },
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
    });
    return orderWorkflowId;
  } catch (error) {
    if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
  }
  const { memo } = await client.workflow.getHandle(workflowId).describe();
  const holder = memo?.[CLAIMED_ORDER_MEMO];
  if (typeof holder !== 'string')
    throw new Error(`Run ${workflowId} holds no ${CLAIMED_ORDER_MEMO} memo: it was not started as an Idempotency-Key claim`);
  return holder;
}
