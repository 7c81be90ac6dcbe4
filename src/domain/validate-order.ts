import { Ajv } from 'ajv';
import { DEFAULT_CURRENCY, type Order } from './order.js';
import { orderParamsSchema, type OrderParams } from './order-schema.js';
import { describeSchemaError } from './schema-errors.js';

export { MAX_AMOUNT } from './order-schema.js';

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

/** The options the HTTP trigger's validator uses too: never coerce, never drop unknown fields. */
export const STRICT_AJV_OPTIONS = {
  coerceTypes: false,
  removeAdditional: false,
  useDefaults: false,
  allErrors: false,
  verbose: true,
} as const;

const validateParams = new Ajv(STRICT_AJV_OPTIONS).compile<OrderParams>(orderParamsSchema);
const ISO_CURRENCIES = new Set(Intl.supportedValuesOf('currency').map((code) => code.toLowerCase()));

/**
 * orderParamsSchema plus what a schema cannot hold (a real ISO 4217 currency). Wrong types and unknown fields are
 * rejected, never coerced or dropped, exactly as the HTTP trigger does.
 */
export function parseOrder(raw: unknown): Order {
  if (!validateParams(raw)) {
    const { field, reason } = describeSchemaError(validateParams.errors![0], 'params');
    throw new InvalidOrderError(field, reason);
  }
  const currency = (raw.currency ?? DEFAULT_CURRENCY).toLowerCase();
  if (!ISO_CURRENCIES.has(currency)) {
    throw new InvalidOrderError('currency', orderParamsSchema.properties.currency.description);
  }
  if (raw.onSession && !raw.returnUrl) throw new InvalidOrderError('returnUrl', orderParamsSchema.properties.returnUrl.description);
  const at = raw.email.lastIndexOf('@');
  return {
    orderId: raw.orderId,
    customerId: raw.customerId,
    amount: raw.amount,
    currency,
    email: raw.email.slice(0, at + 1) + raw.email.slice(at + 1).toLowerCase(),
    ...(raw.paymentMethodId && { paymentMethodId: raw.paymentMethodId }),
    ...(raw.onSession && raw.returnUrl && { confirmOnSession: { returnUrl: raw.returnUrl } }),
  };
}
