import { proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type { OrderParams } from '../src/domain/order.js';
import type { BaselineActivities } from './baseline-activities.js';

export const BASELINE_WORKFLOW_TYPE = 'baselineOrder';

// The same kind of activity (Parse Order is local), timeout and retry settings, step by step, as orderProcessing's.
const { noopParse } = proxyLocalActivities<BaselineActivities>({
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumAttempts: 3 },
});
const { noopCharge } = proxyActivities<BaselineActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumAttempts: 4 },
});
const { noopReceipt } = proxyActivities<BaselineActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 5 },
});
const { noopStatus } = proxyActivities<BaselineActivities>({
  startToCloseTimeout: '30 seconds',
  scheduleToCloseTimeout: '7 days',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '5 minutes' },
});

/** Four do-nothing activities in sequence (the first local), like a paid order's four steps. */
export async function baselineOrder(params: OrderParams): Promise<{ orderId: string; status: 'paid'; chargeId: string }> {
  const order = await noopParse(params);
  const { chargeId } = await noopCharge(order);
  await noopReceipt({ order, chargeId });
  await noopStatus({ orderId: order.orderId, status: 'paid', chargeId });
  return { orderId: order.orderId, status: 'paid', chargeId };
}
