import Stripe from 'stripe';

/** A delivery that verified and has the fields the webhook route reads; the rest is Stripe's business. */
export interface SignedStripeEvent {
  id: string;
  type: string;
  data: { object: Record<string, unknown> };
}

/** Why a delivery is refused: each is the sender's fault (400), never the server's. */
export interface WebhookRefusal {
  code: 'invalid_signature' | 'invalid_event';
  message: string;
}

export type WebhookDelivery = { event: SignedStripeEvent } | { refusal: WebhookRefusal };

/** A v1 signature is an HMAC-SHA256 in lowercase hex. */
const V1_SIGNATURE = /^[0-9a-f]{64}$/;
const UNIX_SECONDS = /^\d+$/;

/**
 * Checked before the SDK sees the header: it throws a plain Error, not a StripeSignatureVerificationError, on an empty or
 * missing v1, and reads `t=123abc` as 123.
 */
function malformedSignatureReason(header: string): string | undefined {
  if (header === '') return 'no Stripe-Signature header';
  const items = header.split(',').map((item) => {
    const separator = item.indexOf('=');
    return separator === -1 ? { key: item, value: undefined } : { key: item.slice(0, separator), value: item.slice(separator + 1) };
  });
  const timestamps = items.filter(({ key }) => key === 't');
  const signatures = items.filter(({ key }) => key === 'v1');
  if (timestamps.length !== 1) return timestamps.length === 0 ? 'no t=<timestamp>' : 't=<timestamp> appears more than once';
  if (!UNIX_SECONDS.test(timestamps[0].value ?? '')) return 't is not a Unix time in whole seconds';
  if (signatures.length === 0) return 'no v1=<signature>';
  if (!signatures.every(({ value }) => V1_SIGNATURE.test(value ?? ''))) return 'a v1 signature is not 64 lowercase hex digits';
  return undefined;
}

/** Stripe's own check of the signature and its age (300 s), apart from its parsing of the body. */
function verifySignature(body: Buffer, header: string, secret: string): void {
  const { signature } = Stripe.webhooks;
  // Set whenever the SDK has loaded; typed nullable only.
  if (signature === null) throw new Error('The Stripe SDK has no webhooks.signature: cannot verify Stripe-Signature');
  signature.verifyHeader(body, header, secret);
}

function invalidSignature(reason: string): { refusal: WebhookRefusal } {
  return {
    refusal: {
      code: 'invalid_signature',
      message:
        `Stripe-Signature does not verify (${reason}): check that STRIPE_WEBHOOK_SECRET is this endpoint's signing secret (whsec_...), ` +
        "that the body arrives unaltered, and that this server's clock is right (signatures older than 300 s are refused)",
    },
  };
}

function invalidEvent(reason: string): { refusal: WebhookRefusal } {
  return { refusal: { code: 'invalid_event', message: `The signed body is not a Stripe event: ${reason}` } };
}

function describeJsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** What keeps a parsed body from being an event the route can read, if anything. */
function eventShapeReason(value: unknown): string | undefined {
  if (!isObject(value)) return `it is ${describeJsonType(value)}, not an object`;
  if (typeof value.id !== 'string' || value.id === '') return 'id must be a non-empty string (the event ID, evt_...)';
  if (typeof value.type !== 'string') return 'type must be a string (e.g. payment_intent.succeeded)';
  if (!isObject(value.data) || !isObject(value.data.object)) return 'data.object must be an object (the object the event is about)';
  return undefined;
}

/**
 * Signature first, so an unsigned body learns nothing about its shape. Parsed here, not by `constructEvent`, whose plain
 * errors (SyntaxError, a thin-event Error) look like any other failure.
 */
export function readStripeWebhook(body: Buffer, signatureHeader: string, secret: string): WebhookDelivery {
  const malformed = malformedSignatureReason(signatureHeader);
  if (malformed !== undefined) return invalidSignature(malformed);
  try {
    verifySignature(body, signatureHeader, secret);
  } catch (error) {
    if (!(error instanceof Stripe.errors.StripeSignatureVerificationError)) throw error;
    return invalidSignature(error.message.split('\n')[0].trim());
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch (error) {
    return invalidEvent(`not JSON (${(error as Error).message})`);
  }
  const shapeProblem = eventShapeReason(parsed);
  if (shapeProblem !== undefined) return invalidEvent(shapeProblem);
  return { event: parsed as SignedStripeEvent };
}
