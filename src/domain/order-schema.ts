import type { FromSchema } from 'json-schema-to-ts';

/** Stripe's largest charge amount (eight digits in the minor unit). */
export const MAX_AMOUNT = 99_999_999;

/**
 * The trigger's `params`, the one source of the order's rules: the HTTP trigger, /openapi.json and Parse Order all use it.
 * Each field's `description` doubles as the reason given when a value breaks its rule.
 */
export const orderParamsSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['orderId', 'customerId', 'amount', 'email'],
  properties: {
    orderId: {
      type: 'string',
      minLength: 1,
      maxLength: 100,
      pattern: '^[A-Za-z0-9][A-Za-z0-9_.:-]*$',
      description: 'must be 1-100 characters of letters, digits, "_", ".", ":" or "-", starting with a letter or digit',
      examples: ['ord_001'],
    },
    customerId: {
      type: 'string',
      minLength: 1,
      maxLength: 255,
      pattern: '^[A-Za-z0-9][A-Za-z0-9_-]*$',
      description: 'must be 1-255 characters of letters, digits, "_" or "-" (a Stripe customer ID such as cus_abc)',
      examples: ['cus_abc'],
    },
    amount: {
      type: 'integer',
      minimum: 1,
      maximum: MAX_AMOUNT,
      description: `must be a positive integer in the currency's minor unit (4999 for $49.99), at most ${MAX_AMOUNT}`,
      examples: [4999],
    },
    currency: {
      type: 'string',
      minLength: 1,
      pattern: '^[A-Za-z]{3}$',
      description: 'must be a 3-letter ISO 4217 currency code such as usd, eur or jpy (default usd)',
      examples: ['usd'],
    },
    email: {
      type: 'string',
      minLength: 1,
      maxLength: 254,
      // A dot-atom local part (RFC 5322: no leading, trailing or doubled dots) and a host name.
      pattern:
        "^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$",
      description: 'must be an email address such as customer@example.com',
      examples: ['customer@example.com'],
    },
    paymentMethodId: {
      type: 'string',
      minLength: 4,
      maxLength: 255,
      pattern: '^pm_[A-Za-z0-9_]+$',
      description: "must be a Stripe payment method ID such as pm_card_visa (optional; default: the customer's default payment method)",
      examples: ['pm_card_visa'],
    },
    onSession: {
      type: 'boolean',
      description:
        'must be true or false: true when the customer is at the checkout and confirms with their bank in the browser (then params.returnUrl is required; default false: off session)',
    },
    returnUrl: {
      type: 'string',
      minLength: 1,
      maxLength: 2000,
      pattern: '^https?://[^\\s]+$',
      description:
        'must be the http(s) URL the customer returns to after confirming with their bank (required when params.onSession is true)',
      examples: ['https://shop.example.com/checkout/done'],
    },
  },
} as const;

export type OrderParams = FromSchema<typeof orderParamsSchema>;
