/** Sample orders for tests of either tier (no Temporal, no worker: the unit tier imports this too). */
import { randomUUID } from 'node:crypto';
import type { OrderParams } from '../../src/domain/order.js';

/** A unique order ID, so tests sharing one Temporal server never collide. */
export function uniqueOrderId(label: string): string {
  return `ord_${label}_${randomUUID().slice(0, 8)}`;
}

export function sampleOrder(overrides: Partial<OrderParams> = {}): OrderParams {
  return {
    orderId: uniqueOrderId('test'),
    customerId: 'cus_abc',
    amount: 4999,
    currency: 'usd',
    email: 'customer@example.com',
    ...overrides,
  };
}
