import type { ProviderConfig } from '../config/worker-settings.js';
import { createProviderClients } from './clients.js';
import { parseOrder } from './parse-order.js';
import { stripeActivities } from './stripe-activities.js';
import { emailActivities } from './email-activities.js';
import { opsAlertActivities } from './ops-alert-activities.js';
import { orderBackendActivities } from './order-backend-activities.js';

/** Every activity of the order workflows: each provider's, built from its client, and Parse Order, which needs none. */
export function createActivities(config: ProviderConfig) {
  const { stripe, resend, slack } = createProviderClients(config);
  return {
    parseOrder,
    ...stripeActivities(stripe, config.payments),
    ...emailActivities(resend, { from: config.resend.from, paymentActionUrl: config.payments.actionUrl }),
    ...opsAlertActivities(slack, config.slack.channel),
    ...orderBackendActivities(config.backend),
  };
}

export type OrderActivities = ReturnType<typeof createActivities>;
