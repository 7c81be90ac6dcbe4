import { proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type { OrderParams } from '../src/domain/order.js';
import type { FetchBaselineActivities } from './fetch-baseline-activities.js';
import { CHARGE_OPTIONS, NOTIFICATION_OPTIONS, ORDER_STATUS_OPTIONS, PARSE_ORDER_OPTIONS } from '../src/workflows/activity-options.js';

// A paid order's steps, with orderProcessing's kinds of activity (Parse Order is local) and options.
const { parseOrderAsIs } = proxyLocalActivities<FetchBaselineActivities>(PARSE_ORDER_OPTIONS);
const { createPaymentIntent, confirmPaymentIntent } = proxyActivities<FetchBaselineActivities>(CHARGE_OPTIONS);
const { sendReceipt } = proxyActivities<FetchBaselineActivities>(NOTIFICATION_OPTIONS);
const { updateOrderStatus } = proxyActivities<FetchBaselineActivities>(ORDER_STATUS_OPTIONS);

/**
 * A paid order's five steps in sequence, the first local, each making the order's HTTP requests with
 * plain `fetch` (Stripe: customer, create, confirm; Resend; the order backend's PATCH).
 */
export async function fetchBaselineOrder(params: OrderParams): Promise<{ orderId: string; status: 'paid'; chargeId: string }> {
  const order = await parseOrderAsIs(params);
  const { paymentIntentId } = await createPaymentIntent(order);
  const { chargeId } = await confirmPaymentIntent({ paymentIntentId });
  await sendReceipt({ order, chargeId });
  await updateOrderStatus({ orderId: order.orderId, status: 'paid', paymentIntentId, chargeId });
  return { orderId: order.orderId, status: 'paid', chargeId };
}
