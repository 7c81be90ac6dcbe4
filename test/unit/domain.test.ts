import { describe, expect, it } from 'vitest';
import { formatAmount } from '../../src/domain/money.js';
import { InvalidOrderError, parseOrder } from '../../src/domain/validate-order.js';

const valid = { orderId: 'ord_001', customerId: 'cus_abc', amount: 4999, currency: 'usd', email: 'customer@example.com' };

function rejection(params: unknown): { field: string; reason: string } {
  try {
    parseOrder(params);
  } catch (error) {
    if (error instanceof InvalidOrderError) return { field: error.field, reason: error.reason };
    throw error;
  }
  throw new Error('expected the order to be rejected');
}

describe('parseOrder', () => {
  it('normalises: default currency usd, lower-case currency and email domain', () => {
    const { currency: _omitted, ...withoutCurrency } = valid;
    expect(parseOrder(withoutCurrency).currency).toBe('usd');
    expect(parseOrder({ ...valid, currency: 'EUR', email: 'Jane.Doe@Example.COM' })).toEqual({
      ...valid,
      currency: 'eur',
      email: 'Jane.Doe@example.com',
    });
  });

  it('keeps the payment method the order names, and leaves it out when none is named', () => {
    expect(parseOrder({ ...valid, paymentMethodId: 'pm_card_visa' }).paymentMethodId).toBe('pm_card_visa');
    expect(parseOrder(valid)).not.toHaveProperty('paymentMethodId');
  });

  it('confirms on session only when asked, with the return URL it requires', () => {
    const returnUrl = 'https://shop.example.com/checkout/done';
    expect(parseOrder({ ...valid, onSession: true, returnUrl }).confirmOnSession).toEqual({ returnUrl });
    expect(parseOrder({ ...valid, onSession: false, returnUrl })).not.toHaveProperty('confirmOnSession');
    expect(() => parseOrder({ ...valid, onSession: true })).toThrow(expect.objectContaining({ field: 'returnUrl' }));
    expect(() => parseOrder({ ...valid, onSession: true, returnUrl: 'javascript:alert(1)' })).toThrow(
      expect.objectContaining({ field: 'returnUrl' }),
    );
  });

  it.each([
    [null, 'params'],
    [[valid], 'params'],
    [{ ...valid, orderId: undefined }, 'orderId'],
    [{ ...valid, orderId: '' }, 'orderId'],
    [{ ...valid, orderId: '../admin' }, 'orderId'],
    [{ ...valid, orderId: 'x'.repeat(101) }, 'orderId'],
    [{ ...valid, customerId: 42 }, 'customerId'],
    [{ ...valid, customerId: 'cus abc' }, 'customerId'],
    [{ ...valid, amount: '4999' }, 'amount'],
    [{ ...valid, amount: 0 }, 'amount'],
    [{ ...valid, amount: 1.5 }, 'amount'],
    [{ ...valid, amount: Number.NaN }, 'amount'],
    [{ ...valid, amount: 100_000_000 }, 'amount'],
    [{ ...valid, currency: 'US' }, 'currency'],
    [{ ...valid, currency: 'xyz' }, 'currency'],
    [{ ...valid, currency: null }, 'currency'],
    [{ ...valid, email: undefined }, 'email'],
    [{ ...valid, email: 'a@b' }, 'email'],
    [{ ...valid, email: 'a b@example.com' }, 'email'],
    [{ ...valid, email: `${'a'.repeat(250)}@example.com` }, 'email'],
    [{ ...valid, paymentMethodId: 'card_123' }, 'paymentMethodId'],
    [{ ...valid, paymentMethodId: 'pm_' }, 'paymentMethodId'],
    [{ ...valid, paymentMethodId: 42 }, 'paymentMethodId'],
    [JSON.parse(`{"__proto__": {"admin": true}, ${JSON.stringify(valid).slice(1)}`), '__proto__'],
  ])('rejects %j naming %s', (params, field) => {
    expect(rejection(params).field).toBe(field);
  });
});

describe('formatAmount', () => {
  it.each([
    [4999, 'usd', '$49.99'],
    [500, 'jpy', '¥500'],
    [1050, 'eur', '€10.50'],
    [1234, 'kwd', 'KWD 1.234'],
  ])('formats %i %s as %s', (amount, currency, expected) => {
    expect(formatAmount(amount, currency).replace(/\u00a0/g, ' ')).toBe(expected);
  });
});
