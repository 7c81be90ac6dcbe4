import type { ProviderConfig } from '../config.js';
import { createProviderClients } from './clients.js';
import { parseOrder } from './parse-order.js';
import { createChargeCard } from './charge-card.js';
import { createSendReceipt } from './send-receipt.js';
import { createNotifyOps } from './notify-ops.js';
import { createUpdateOrderStatus } from './update-order-status.js';

/** Every activity of the order workflow, wired to the given provider clients and settings. */
export function createActivities(config: ProviderConfig) {
  const clients = createProviderClients(config);
  return {
    parseOrder,
    chargeCard: createChargeCard(clients.stripe),
    sendReceipt: createSendReceipt(clients.resend, config.resend.from),
    notifyOps: createNotifyOps(clients.slack, config.slack.channel),
    updateOrderStatus: createUpdateOrderStatus(config.backend),
  };
}

export type OrderActivities = ReturnType<typeof createActivities>;
