import type { ProviderConfig } from '../config/worker.js';
import type { PaymentSettings } from '../domain/payment.js';
import { createProviderClients } from './clients.js';
import { parseOrder } from './parse-order.js';
import { createChargeCard } from './charge-card.js';
import { createCreatePaymentIntent } from './create-payment-intent.js';
import { createConfirmPaymentIntent } from './confirm-payment-intent.js';
import { createLookUpPayment } from './look-up-payment.js';
import { createCancelPaymentIntent } from './cancel-payment-intent.js';
import { createSendReceipt } from './send-receipt.js';
import { createSendPaymentAction } from './send-payment-action.js';
import { createLookUpRefund, createRefundPayment } from './refund-payment.js';
import { createNotifyOps } from './notify-ops.js';
import { createUpdateOrderStatus } from './update-order-status.js';
import { createFindOutcomeMismatches } from './find-outcome-mismatches.js';

/** Every activity of the order workflow, wired to the given provider clients and settings. */
export function createActivities(config: ProviderConfig) {
  const clients = createProviderClients(config);
  return {
    parseOrder,
    /** The worker's payment settings, read by the workflow (which cannot read the environment) when it must wait for Stripe. */
    paymentSettings: async (): Promise<PaymentSettings> => ({
      reconcileTimeoutMs: config.payments.reconcileTimeoutMs,
      actionTimeoutMs: config.payments.actionTimeoutMs,
    }),
    createPaymentIntent: createCreatePaymentIntent(clients.stripe),
    confirmPaymentIntent: createConfirmPaymentIntent(clients.stripe),
    lookUpPayment: createLookUpPayment(clients.stripe),
    cancelPaymentIntent: createCancelPaymentIntent(clients.stripe),
    sendPaymentAction: createSendPaymentAction(clients.resend, config.resend.from, config.payments.actionUrl),
    refundPayment: createRefundPayment(clients.stripe),
    lookUpRefund: createLookUpRefund(clients.stripe),
    chargeCard: createChargeCard(clients.stripe),
    sendReceipt: createSendReceipt(clients.resend, config.resend.from),
    notifyOps: createNotifyOps(clients.slack, config.slack.channel),
    updateOrderStatus: createUpdateOrderStatus(config.backend),
    findOutcomeMismatches: createFindOutcomeMismatches(clients.stripe),
  };
}

export type OrderActivities = ReturnType<typeof createActivities>;
