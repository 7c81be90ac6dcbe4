/**
 * The workflows the unit tier bundles: the service's own, plus one that runs Charge Card the way runs
 * started before the `payment-intents` patch do. A new run always takes a patch's new branch, so the
 * legacy Charges API path can only be reached this way (or by replaying an old history, test/e2e/replay).
 */
import type { Order } from '../../src/domain/order.js';
import { chargeWithChargesApi } from '../../src/workflows/legacy-charge.js';

export * from '../../src/workflows/index.js';

export async function legacyCharge(order: Order) {
  return chargeWithChargesApi(order);
}
