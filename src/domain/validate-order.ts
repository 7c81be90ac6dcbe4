import { DEFAULT_CURRENCY, type Order } from './order.js';

/** An order that cannot be processed as given: names the field and says what is expected. */
export class InvalidOrderError extends Error {
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`${field} ${reason}`);
    this.name = 'InvalidOrderError';
  }
}

const ORDER_FIELDS = new Set(['orderId', 'customerId', 'amount', 'currency', 'email']);
const ORDER_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$/;
const CUSTOMER_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,254}$/;
// The local part is a dot-atom (RFC 5322): no leading, trailing or doubled dots, so no "../../x@host".
const EMAIL_PATTERN = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/;
const MAX_EMAIL_LENGTH = 254;
/** Stripe's largest charge amount (eight digits in the minor unit). */
export const MAX_AMOUNT = 99_999_999;
const ISO_CURRENCIES = new Set(Intl.supportedValuesOf('currency').map((code) => code.toLowerCase()));

function requireString(raw: Record<string, unknown>, field: string): string {
  const value = raw[field];
  if (value === undefined || value === null) throw new InvalidOrderError(field, 'is required');
  if (typeof value !== 'string') throw new InvalidOrderError(field, `must be a string, got ${describeType(value)}`);
  if (value.length === 0) throw new InvalidOrderError(field, 'must not be empty');
  return value;
}

function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

/**
 * Validates and normalises the trigger's params into an Order. The same rules serve the HTTP
 * trigger (400) and the Parse Order activity (non-retryable InvalidOrder): values of the wrong type
 * are rejected, never coerced, and unknown fields are rejected, never dropped.
 */
export function parseOrder(raw: unknown): Order {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new InvalidOrderError('params', `must be an object, got ${describeType(raw)}`);
  }
  const params = raw as Record<string, unknown>;
  const unknownField = Object.keys(params).find((key) => !ORDER_FIELDS.has(key));
  if (unknownField !== undefined) {
    throw new InvalidOrderError(unknownField, 'is not a known order field (expected orderId, customerId, amount, currency, email)');
  }

  const orderId = requireString(params, 'orderId');
  if (!ORDER_ID_PATTERN.test(orderId)) {
    throw new InvalidOrderError('orderId', 'must be 1-100 characters of letters, digits, "_", ".", ":" or "-", starting with a letter or digit');
  }

  const customerId = requireString(params, 'customerId');
  if (!CUSTOMER_ID_PATTERN.test(customerId)) {
    throw new InvalidOrderError('customerId', 'must be 1-255 characters of letters, digits, "_" or "-" (a Stripe customer ID such as cus_abc)');
  }

  const amount = params.amount;
  if (amount === undefined || amount === null) throw new InvalidOrderError('amount', 'is required');
  if (typeof amount !== 'number') throw new InvalidOrderError('amount', `must be a number, got ${describeType(amount)}`);
  if (!Number.isInteger(amount) || amount < 1) {
    throw new InvalidOrderError('amount', 'must be a positive integer in the currency\'s minor unit (4999 for $49.99)');
  }
  if (amount > MAX_AMOUNT) throw new InvalidOrderError('amount', `must be at most ${MAX_AMOUNT}`);

  let currency = DEFAULT_CURRENCY;
  if (params.currency !== undefined) {
    const given = requireString(params, 'currency');
    if (!/^[A-Za-z]{3}$/.test(given) || !ISO_CURRENCIES.has(given.toLowerCase())) {
      throw new InvalidOrderError('currency', 'must be a 3-letter ISO 4217 currency code such as usd, eur or jpy');
    }
    currency = given.toLowerCase();
  }

  const email = requireString(params, 'email');
  if (email.length > MAX_EMAIL_LENGTH || !EMAIL_PATTERN.test(email)) {
    throw new InvalidOrderError('email', 'must be an email address such as customer@example.com');
  }
  const at = email.lastIndexOf('@');

  return {
    orderId,
    customerId,
    amount,
    currency,
    email: email.slice(0, at + 1) + email.slice(at + 1).toLowerCase(),
  };
}
