import { activityInfo } from '@temporalio/activity';

/**
 * The idempotency key of one side effect of the current run: `<workflowId>/<step>`, e.g.
 * `order-ord_001/charge`. Derived from the workflow ID, so every retry, and a reset run of the same
 * order, sends the same key and the provider deduplicates. A later `generation` (`.../charge/2`) is
 * taken only once Stripe's record shows the earlier key burnt: a stored error, and nothing done under it.
 */
export function idempotencyKeyFor(
  step: 'payment-intent' | 'charge' | 'payment-action' | 'refund' | 'receipt' | `order-status/${string}`,
  generation = 1,
): string {
  const workflow = activityInfo().workflowExecution;
  if (!workflow) throw new Error(`The ${step} idempotency key comes from the workflow ID: run this activity from the order workflow`);
  return `${workflow.workflowId}/${step}${generation > 1 ? `/${generation}` : ''}`;
}
