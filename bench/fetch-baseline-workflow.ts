import { proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type { OrderParams } from '../src/domain/order.js';
import type { FetchBaselineActivities } from './fetch-baseline-activities.js';
import { CHARGE_RETRY } from '../src/workflows/retry-policies.js';

// A paid order's steps, with orderProcessing's kinds of activity (Parse Order is local), timeouts and retry policies.
const { parseOrderAsIs } = proxyLocalActivities<FetchBaselineActivities>({
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumAttempts: 3 },
});
const { createPaymentIntent, confirmPaymentIntent } = proxyActivities<FetchBaselineActivities>({ startToCloseTimeout: '30 seconds', retry: CHARGE_RETRY });
const { sendReceipt } = proxyActivities<FetchBaselineActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 5 },
});
const { updateOrderStatus } = proxyActivities<FetchBaselineActivities>({
  startToCloseTimeout: '30 seconds',
  scheduleToCloseTimeout: '7 days',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '5 minutes' },
});

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
