import { StandIn, type StandInReply, type StandInRequest } from './stand-in.js';

export interface OrderRecord {
  status: string;
  /** Every status a PATCH set (accepted ones only), oldest first: the sequence a run wrote. */
  statuses: string[];
  paymentIntentId?: string;
  chargeId?: string;
  /** What the last `refunded` or `partially_refunded` PATCH said was refunded so far, minor units. */
  amountRefunded?: number;
  /** How many PATCHes changed or repeated this record. */
  updates: number;
  idempotencyKeys: string[];
}

const ORDER_STATUSES = new Set(['paid', 'payment_failed', 'payment_pending', 'cancelled', 'refunded', 'partially_refunded', 'disputed']);

/** Orders the backend will never mark paid (409, the contract's refusal), to test a run that charged a card the merchant then refuses. */
const REFUSES_PAID = 'ord_refuse_paid';

/**
 * A stand-in for the merchant's order backend: `PATCH /orders/:orderId` with `{ status, paymentIntentId?, chargeId? }`
 * answers 204; `GET /orders/:orderId` shows the record, so a person can check what the workflow wrote.
 * Orders whose ID starts with `ord_refuse_paid` get 409 to every PATCH to `paid`; an unknown status is a 422
 * (a contract fault, as a stricter schema would answer). `token`, when set, is required as a bearer token (401 otherwise).
 */
export class OrderBackendStandIn extends StandIn {
  readonly orders = new Map<string, OrderRecord>();
  /** The bearer token PATCHes must carry; undefined accepts any. A test rotates it to play a misconfigured worker. */
  token: string | undefined;

  constructor() {
    super('Order backend');
  }

  protected errorBody(status: number): unknown {
    return { error: `Injected ${status} error` };
  }

  protected handle(request: StandInRequest): StandInReply {
    const match = /^\/orders\/([^/?]+)$/.exec(request.path);
    if (match && request.method === 'GET') {
      const order = this.orders.get(decodeURIComponent(match[1]));
      return order
        ? { status: 200, body: { orderId: decodeURIComponent(match[1]), ...order } }
        : { status: 404, body: { error: 'no such order' } };
    }
    if (request.method !== 'PATCH' || !match) return { status: 404, body: { error: 'not found' } };
    if (this.token !== undefined && request.headers.authorization !== `Bearer ${this.token}`) {
      return { status: 401, body: { error: 'invalid or missing bearer token' } };
    }
    let update: { status?: unknown; paymentIntentId?: unknown; chargeId?: unknown; amountRefunded?: unknown };
    try {
      update = JSON.parse(request.body) as typeof update;
    } catch {
      return { status: 400, body: { error: 'body must be JSON' } };
    }
    if (typeof update.status !== 'string' || !ORDER_STATUSES.has(update.status)) {
      return { status: 422, body: { error: `status must be one of ${[...ORDER_STATUSES].join(', ')}` } };
    }
    const orderId = decodeURIComponent(match[1]);
    if (update.status === 'paid' && orderId.startsWith(REFUSES_PAID))
      return { status: 409, body: { error: `order ${orderId} cannot be marked paid` } };
    const previous = this.orders.get(orderId);
    this.orders.set(orderId, {
      status: update.status,
      statuses: [...(previous?.statuses ?? []), update.status],
      ...(typeof update.paymentIntentId === 'string' && { paymentIntentId: update.paymentIntentId }),
      ...(typeof update.chargeId === 'string' && { chargeId: update.chargeId }),
      ...(typeof update.amountRefunded === 'number' && { amountRefunded: update.amountRefunded }),
      updates: (previous?.updates ?? 0) + 1,
      idempotencyKeys: [...(previous?.idempotencyKeys ?? []), String(request.headers['idempotency-key'])],
    });
    return { status: 204 };
  }
}
