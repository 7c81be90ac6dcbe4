import type { OrderParams } from '../src/domain/order.js';
import type { ProviderConfig } from '../src/config/worker-settings.js';
import { idempotencyKeyFor } from '../src/activities/idempotency.js';

/**
 * The fetch baseline's activities: the HTTP requests a paid order makes (Stripe's search for an earlier
 * payment of the order, or the customer's list when search is rate-limited, the customer read,
 * PaymentIntent create and confirm, the Resend receipt, the order backend's PATCH), to the same
 * stand-ins with the same idempotency keys, sent with plain `fetch` instead of the provider SDKs. Set
 * beside the do-nothing baseline, it separates what three providers' HTTP calls cost from what the
 * order worker adds to them (SDKs, payload encryption, metrics, the order workflow's own logic).
 */
export function createFetchBaselineActivities(providers: ProviderConfig) {
  // Only ever pointed at stand-ins: a baseline must not send requests to the real providers.
  if (!providers.stripe.apiUrl || !providers.resend.baseUrl) {
    throw new Error('The fetch baseline needs STRIPE_API_URL and RESEND_BASE_URL pointing at stand-ins (the benchmark sets them)');
  }
  const stripeUrl = providers.stripe.apiUrl.href.replace(/\/$/, '');
  const resendUrl = providers.resend.baseUrl;

  /** One request; a non-2xx answer fails the activity (the stand-ins answer 2xx to a paid order's requests). */
  async function send(method: string, url: string, headers: Record<string, string>, body?: string): Promise<unknown> {
    const response = await fetch(url, { method, headers, ...(body !== undefined && { body }) });
    const text = await response.text();
    if (!response.ok) throw new HttpError(`${method} ${url} answered ${response.status}: ${text.slice(0, 300)}`, response.status);
    return text ? JSON.parse(text) : undefined;
  }

  /** Stripe's API: form-encoded parameters, a bearer secret key, an idempotency key on POSTs. */
  function stripe(method: 'GET' | 'POST', path: string, form?: Record<string, string>, idempotencyKey?: string): Promise<unknown> {
    const headers: Record<string, string> = { authorization: `Bearer ${providers.stripe.secretKey}` };
    if (form) headers['content-type'] = 'application/x-www-form-urlencoded';
    if (idempotencyKey) headers['idempotency-key'] = idempotencyKey;
    return send(method, `${stripeUrl}${path}`, headers, form && new URLSearchParams(form).toString());
  }

  return {
    async parseOrderAsIs(params: OrderParams): Promise<OrderParams> {
      return params;
    },
    async createPaymentIntent(order: OrderParams): Promise<{ paymentIntentId: string }> {
      const query = new URLSearchParams({ query: `metadata['order_id']:'${order.orderId}'`, limit: '100' });
      await stripe('GET', `/v1/payment_intents/search?${query.toString()}`).catch((error: unknown) => {
        if (!(error instanceof HttpError && error.status === 429)) throw error;
        return stripe('GET', `/v1/payment_intents?${new URLSearchParams({ customer: order.customerId, limit: '100' }).toString()}`);
      });
      const customer = (await stripe('GET', `/v1/customers/${encodeURIComponent(order.customerId)}`)) as {
        invoice_settings: { default_payment_method: string };
      };
      const intent = (await stripe(
        'POST',
        '/v1/payment_intents',
        {
          amount: String(order.amount),
          currency: order.currency ?? 'usd',
          customer: order.customerId,
          payment_method: customer.invoice_settings.default_payment_method,
          'allowed_payment_method_types[0]': 'card',
          description: `Order ${order.orderId}`,
          'metadata[order_id]': order.orderId,
        },
        idempotencyKeyFor('payment-intent'),
      )) as { id: string };
      return { paymentIntentId: intent.id };
    },
    async confirmPaymentIntent({ paymentIntentId }: { paymentIntentId: string }): Promise<{ chargeId: string }> {
      const path = `/v1/payment_intents/${encodeURIComponent(paymentIntentId)}/confirm`;
      const intent = (await stripe('POST', path, { off_session: 'true' }, idempotencyKeyFor('charge'))) as { latest_charge: string };
      return { chargeId: intent.latest_charge };
    },
    async sendReceipt({ order, chargeId }: { order: OrderParams; chargeId: string }): Promise<{ emailId: string }> {
      const headers = {
        authorization: `Bearer ${providers.resend.apiKey}`,
        'content-type': 'application/json',
        'idempotency-key': idempotencyKeyFor('receipt'),
      };
      const email = {
        from: providers.resend.from,
        to: order.email,
        subject: `Receipt for order ${order.orderId}`,
        text: `Thank you for your order ${order.orderId}.\nCharge ID: ${chargeId}`,
      };
      const { id } = (await send('POST', `${resendUrl}/emails`, headers, JSON.stringify(email))) as { id: string };
      return { emailId: id };
    },
    async updateOrderStatus(update: { orderId: string; status: 'paid'; paymentIntentId: string; chargeId: string }): Promise<void> {
      const headers = { 'content-type': 'application/json', 'idempotency-key': idempotencyKeyFor(`order-status/${update.status}`) };
      const { orderId, ...record } = update;
      await send('PATCH', `${providers.backend.baseUrl}/orders/${encodeURIComponent(orderId)}`, headers, JSON.stringify(record));
    },
  };
}

class HttpError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

export type FetchBaselineActivities = ReturnType<typeof createFetchBaselineActivities>;
