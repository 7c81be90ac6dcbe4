import { activityInfo } from '@temporalio/activity';

/**
 * The key of one side effect, `<workflowId>/<step>` (`order-ord_001/charge`): every retry and a reset run send it again, so
 * the provider deduplicates; a later `generation` (`.../charge/2`) once Stripe shows the earlier key burnt (docs/payments.md).
 */
export function idempotencyKeyFor(
  step: 'payment-intent' | 'charge' | 'payment-action' | 'refund' | 'receipt' | `order-status/${string}`,
  generation = 1,
): string {
  const workflow = activityInfo().workflowExecution;
  if (!workflow) throw new Error(`The ${step} idempotency key comes from the workflow ID: run this activity from the order workflow`);
  return `${workflow.workflowId}/${step}${generation > 1 ? `/${generation}` : ''}`;
}
