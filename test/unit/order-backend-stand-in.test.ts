import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OrderBackendStandIn } from '../../dev/sandbox/order-backend.js';

let backend: OrderBackendStandIn;
let baseUrl: string;

beforeEach(async () => {
  backend = new OrderBackendStandIn();
  baseUrl = await backend.listen();
});
afterEach(async () => {
  await backend.close();
});

async function patch(orderId: string, status: string): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${baseUrl}/orders/${orderId}`, {
    method: 'PATCH',
    headers: { 'content-type': 'application/json', 'idempotency-key': `${orderId}-${status}` },
    body: JSON.stringify({ status }),
  });
  return { status: response.status, body: response.status === 204 ? undefined : await response.json() };
}

describe('order backend stand-in', () => {
  it('keeps the sequence of statuses written, refunded included', async () => {
    for (const status of ['payment_pending', 'paid', 'refunded']) expect((await patch('ord_seq', status)).status).toBe(204);
    expect(backend.orders.get('ord_seq')).toMatchObject({
      status: 'refunded',
      statuses: ['payment_pending', 'paid', 'refunded'],
      updates: 3,
    });
  });

  it("ord_refuse_paid*: every PATCH to paid gets 409 (the contract's refusal), other statuses are accepted", async () => {
    expect(await patch('ord_refuse_paid_1', 'payment_pending')).toEqual({ status: 204, body: undefined });
    for (let attempt = 0; attempt < 2; attempt += 1) {
      expect(await patch('ord_refuse_paid_1', 'paid')).toEqual({
        status: 409,
        body: { error: 'order ord_refuse_paid_1 cannot be marked paid' },
      });
    }
    expect((await patch('ord_refuse_paid_1', 'refunded')).status).toBe(204);
    expect(backend.orders.get('ord_refuse_paid_1')?.statuses).toEqual(['payment_pending', 'refunded']);
  });

  it('with a token set, a PATCH without it gets 401 and changes nothing', async () => {
    backend.token = 'tok_current';
    try {
      expect(await patch('ord_token', 'paid')).toMatchObject({ status: 401 });
      expect(backend.orders.has('ord_token')).toBe(false);
    } finally {
      backend.token = undefined;
    }
  });

  it('still refuses a status it does not know', async () => {
    expect(await patch('ord_unknown_status', 'shipped')).toMatchObject({ status: 422 });
    expect(backend.orders.has('ord_unknown_status')).toBe(false);
  });
});
