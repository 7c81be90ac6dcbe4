import type { ProviderConfig } from '../config/worker.js';
import { createProviderClients } from './clients.js';
import { parseOrder } from './parse-order.js';
import { stripeActivities } from './stripe-activities.js';
import { createSendReceipt } from './send-receipt.js';
import { createSendPaymentAction } from './send-payment-action.js';
import { createNotifyOps } from './notify-ops.js';
import { createUpdateOrderStatus } from './update-order-status.js';

/** Every activity of the order workflows: each provider's, built from its client, and Parse Order, which needs none. */
export function createActivities(config: ProviderConfig) {
  const { stripe, resend, slack } = createProviderClients(config);
  return {
    parseOrder,
    ...stripeActivities(stripe, config.payments),
    sendPaymentAction: createSendPaymentAction(resend, config.resend.from, config.payments.actionUrl),
    sendReceipt: createSendReceipt(resend, config.resend.from),
    notifyOps: createNotifyOps(slack, config.slack.channel),
    updateOrderStatus: createUpdateOrderStatus(config.backend),
  };
}

export type OrderActivities = ReturnType<typeof createActivities>;
