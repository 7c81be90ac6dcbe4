import { proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type { OrderParams } from '../src/domain/order.js';
import type { BaselineActivities } from './baseline-activities.js';
import { CHARGE_RETRY } from '../src/workflows/retry-policies.js';

export const BASELINE_WORKFLOW_TYPE = 'baselineOrder';

// The same kind of activity (Parse Order is local), timeout and retry settings, step by step, as orderProcessing's.
const { noopParse } = proxyLocalActivities<BaselineActivities>({
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumAttempts: 3 },
});
const { noopCharge } = proxyActivities<BaselineActivities>({ startToCloseTimeout: '30 seconds', retry: CHARGE_RETRY });
const { noopReceipt } = proxyActivities<BaselineActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 5 },
});
const { noopStatus } = proxyActivities<BaselineActivities>({
  startToCloseTimeout: '30 seconds',
  scheduleToCloseTimeout: '7 days',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '5 minutes' },
});

/**
 * Five do-nothing activities in sequence (the first local), like a paid order's steps: Parse Order,
 * Charge Card's two requests (create and confirm the PaymentIntent), Send Receipt, Update Order Status.
 */
export async function baselineOrder(params: OrderParams): Promise<{ orderId: string; status: 'paid'; chargeId: string }> {
  const order = await noopParse(params);
  await noopCharge(order);
  const { chargeId } = await noopCharge(order);
  await noopReceipt({ order, chargeId });
  await noopStatus({ orderId: order.orderId, status: 'paid', chargeId });
  return { orderId: order.orderId, status: 'paid', chargeId };
}
