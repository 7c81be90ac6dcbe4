import type { OrderParams } from '../src/domain/order.js';

/**
 * The baseline's activities: as many as a paid order runs (4), each doing nothing but returning a
 * value of about the same size, so the baseline measures Temporal's own cost per order.
 */
export function createBaselineActivities() {
  return {
    async noopParse(params: OrderParams): Promise<OrderParams> {
      return params;
    },
    async noopCharge(params: OrderParams): Promise<{ chargeId: string }> {
      return { chargeId: `ch_baseline_${params.orderId}` };
    },
    async noopReceipt(_input: { order: OrderParams; chargeId: string }): Promise<void> {},
    async noopStatus(_input: { orderId: string; status: 'paid'; chargeId: string }): Promise<void> {},
  };
}

export type BaselineActivities = ReturnType<typeof createBaselineActivities>;
