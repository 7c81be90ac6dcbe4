import { proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type { OrderParams } from '../src/domain/order.js';
import type { BaselineActivities } from './baseline-activities.js';
import { CHARGE_OPTIONS, NOTIFICATION_OPTIONS, ORDER_STATUS_OPTIONS, PARSE_ORDER_OPTIONS } from '../src/workflows/activity-options.js';

export const BASELINE_WORKFLOW_TYPE = 'baselineOrder';

// The same kind of activity (Parse Order is local) and the same options, step by step, as orderProcessing's.
const { noopParse } = proxyLocalActivities<BaselineActivities>(PARSE_ORDER_OPTIONS);
const { noopCharge } = proxyActivities<BaselineActivities>(CHARGE_OPTIONS);
const { noopReceipt } = proxyActivities<BaselineActivities>(NOTIFICATION_OPTIONS);
const { noopStatus } = proxyActivities<BaselineActivities>(ORDER_STATUS_OPTIONS);

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
