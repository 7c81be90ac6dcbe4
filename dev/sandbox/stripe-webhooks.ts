import { createHmac, randomBytes } from 'node:crypto';
import { ROUTED_STRIPE_EVENTS } from '../../src/domain/payment.js';
import { ListIndex } from './list-index.js';

/** The events the service's webhook endpoint subscribes to: the ones it routes to an order's run. */
type SubscribedEventType = (typeof ROUTED_STRIPE_EVENTS)[number];

/**
 * The events the Stripe stand-in creates: the subscribed ones, which it also sends; disputes and a
 * refund's settlement, which it only lists (runs ask Stripe about a pending refund on a backoff).
 */
/** Listed only (the endpoint does not subscribe to them): disputes and the refund events Stripe sends beside charge.refunded. */
export type StripeEventType =
  SubscribedEventType | 'charge.dispute.created' | 'charge.refund.updated' | 'refund.created' | 'refund.updated' | 'refund.failed';

/**
 * How an event reaches the endpoint, to test a receiver against what Stripe documents it may do:
 * on time; `late` (held `webhookLateMs`); `twice` (the same event again once the first delivery is
 * done); `out_of_order` (held until a later event about the same PaymentIntent was sent, or 5 s);
 * `missing` (never sent).
 */
export type WebhookDeliveryMode = 'on_time' | 'late' | 'twice' | 'out_of_order' | 'missing';

/** A mode drawn per event, for load and fault runs: `modes[floor(random() * modes.length)]`. */
export interface RandomWebhookDelivery {
  random: () => number;
  modes: WebhookDeliveryMode[];
}

/** An event in Stripe's wire shape (snapshot payload). */
export interface StripeEvent {
  id: string;
  object: 'event';
  api_version: string;
  created: number;
  livemode: false;
  pending_webhooks: number;
  request: { id: null; idempotency_key: string | null };
  type: StripeEventType;
  data: { object: unknown };
}

/** One attempt to deliver an event: the endpoint's HTTP status, or 0 when it did not answer. */
export interface WebhookDelivery {
  eventId: string;
  type: StripeEventType;
  orderId?: string;
  status: number;
  /** When the attempt ended (ms since the epoch, real time). */
  deliveredAt: number;
  /** 1 for the first attempt of a delivery, 2 and 3 for Stripe's retries. */
  attempt: number;
}

/** What an event is about, beyond its body: the PaymentIntent orders its delivery, the order is for the record. */
export interface EventSubject {
  paymentIntentId: string;
  orderId: string | undefined;
  idempotencyKey: string | undefined;
  /** Seconds since the epoch, on the stand-in's clock. */
  created: number;
}

/** An event as the stand-in keeps it: listed by `GET /v1/events`, and delivered. */
export interface RecordedEvent {
  event: StripeEvent;
  subject: EventSubject;
  /** Serialized at the first delivery, once, so a repeated delivery sends the same bytes. */
  payload?: string;
}

/** The API version the events say they were rendered with: the one the project's stripe SDK pins. */
const API_VERSION = '2026-10-28.endive';
const ATTEMPTS = 3;
const RETRY_DELAY_MS = 1_000;
const ATTEMPT_TIMEOUT_MS = 10_000;
const OUT_OF_ORDER_HOLD_MS = 5_000;

/**
 * Stripe's webhook side for the stand-in: records every event, and sends each to the endpoint (once
 * one is set) signed as Stripe signs, asynchronously, retrying a non-2xx answer or a network error,
 * in the configured delivery mode. Every wait ends when `signal` aborts (the stand-in closed).
 */
export class StripeWebhooks {
  readonly deliveries: WebhookDelivery[] = [];
  mode: WebhookDeliveryMode = 'on_time';
  lateMs = 5_000;
  random: RandomWebhookDelivery | undefined;
  private endpoint: { url: string; secret: string } | undefined;
  /** Every event, oldest first, indexed for `GET /v1/events`. */
  readonly recorded = new ListIndex<RecordedEvent>(({ event }) => event);
  private readonly inFlight = new Set<Promise<void>>();
  /** The release of the out-of-order event held for a PaymentIntent (one at a time: later ones overtake it). */
  private readonly held = new Map<string, () => void>();

  constructor(private readonly signal: AbortSignal) {}

  /** Every event created, oldest first. */
  get events(): StripeEvent[] {
    return this.recorded.values().map(({ event }) => event);
  }

  sendTo(url: string, secret: string): void {
    this.endpoint = { url, secret };
  }

  /** Creates the event and, when the endpoint subscribes to its type, starts its delivery without waiting for it. */
  emit(type: StripeEventType, object: unknown, subject: EventSubject): void {
    const delivered = this.endpoint !== undefined && (ROUTED_STRIPE_EVENTS as readonly string[]).includes(type);
    const event: StripeEvent = {
      id: `evt_${randomBytes(12).toString('hex')}`,
      object: 'event',
      api_version: API_VERSION,
      created: subject.created,
      livemode: false,
      pending_webhooks: delivered ? 1 : 0,
      request: { id: null, idempotency_key: subject.idempotencyKey ?? null },
      type,
      data: { object },
    };
    const outgoing: RecordedEvent = { event, subject };
    this.recorded.push(outgoing);
    if (delivered) void this.track(this.dispatch(outgoing, this.nextMode()));
  }

  /** Delivers an earlier event again, now; resolves once it was attempted (retries included). */
  resend(eventId: string): Promise<void> {
    const outgoing = this.recorded.get(eventId);
    if (!outgoing) throw new Error(`No such event: ${eventId}`);
    if (!this.endpoint) throw new Error('No webhook endpoint: call sendWebhooksTo first');
    return this.track(this.deliver(outgoing));
  }

  /** Resolves once every held or queued delivery has been attempted, those they lead to included. */
  async settled(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all(this.inFlight);
  }

  private track(delivery: Promise<void>): Promise<void> {
    this.inFlight.add(delivery);
    void delivery.finally(() => this.inFlight.delete(delivery));
    return delivery;
  }

  private nextMode(): WebhookDeliveryMode {
    const random = this.random;
    if (!random || random.modes.length === 0) return this.mode;
    return random.modes[Math.floor(random.random() * random.modes.length)];
  }

  private async dispatch(outgoing: RecordedEvent, mode: WebhookDeliveryMode): Promise<void> {
    switch (mode) {
      case 'on_time':
        return this.deliver(outgoing);
      case 'late':
        await wait(this.lateMs, this.signal).done;
        return this.deliver(outgoing);
      case 'twice':
        await this.deliver(outgoing);
        return this.deliver(outgoing);
      case 'out_of_order':
        return this.deliverOutOfOrder(outgoing);
      case 'missing':
        return;
    }
  }

  /** Held until a later event about the same PaymentIntent was sent; an event arriving while one is held overtakes it. */
  private async deliverOutOfOrder(outgoing: RecordedEvent): Promise<void> {
    const key = outgoing.subject.paymentIntentId;
    if (this.held.has(key)) return this.deliver(outgoing);
    const hold = wait(OUT_OF_ORDER_HOLD_MS, this.signal);
    this.held.set(key, hold.release);
    await hold.done;
    if (this.held.get(key) === hold.release) this.held.delete(key);
    return this.deliver(outgoing);
  }

  /** The first attempt, then Stripe's retries while the endpoint fails; events held behind this one go once it was sent. */
  private async deliver(outgoing: RecordedEvent): Promise<void> {
    for (let attempt = 1; attempt <= ATTEMPTS && !this.signal.aborted; attempt += 1) {
      const status = await this.attempt(outgoing, attempt);
      if (attempt === 1) this.releaseHeldBehind(outgoing.subject.paymentIntentId);
      if (status >= 200 && status < 300) return;
      if (attempt < ATTEMPTS) await wait(RETRY_DELAY_MS, this.signal).done;
    }
  }

  private releaseHeldBehind(paymentIntentId: string): void {
    const release = this.held.get(paymentIntentId);
    this.held.delete(paymentIntentId);
    release?.();
  }

  private async attempt(outgoing: RecordedEvent, attempt: number): Promise<number> {
    const { url, secret } = this.endpoint!;
    const { event, subject } = outgoing;
    const payload = (outgoing.payload ??= JSON.stringify(event));
    let status = 0;
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json; charset=utf-8',
          'stripe-signature': signature(payload, secret),
          'user-agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
        },
        body: payload,
        signal: AbortSignal.any([this.signal, AbortSignal.timeout(ATTEMPT_TIMEOUT_MS)]),
      });
      status = response.status;
      await response.body?.cancel();
    } catch {
      // No answer (refused, reset, timed out, or the stand-in closed): recorded as status 0 and retried.
    }
    this.deliveries.push({
      eventId: event.id,
      type: event.type,
      ...(subject.orderId !== undefined && { orderId: subject.orderId }),
      status,
      deliveredAt: Date.now(),
      attempt,
    });
    return status;
  }
}

/**
 * Stripe's `Stripe-Signature`: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<payload>">`. Real time,
 * not the stand-in's clock: the receiver checks the timestamp against its own clock.
 */
function signature(payload: string, secret: string): string {
  const timestamp = Math.floor(Date.now() / 1000);
  const digest = createHmac('sha256', secret).update(`${timestamp}.${payload}`).digest('hex');
  return `t=${timestamp},v1=${digest}`;
}

/**
 * A wait that ends after `ms`, when released, or when `signal` aborts, whichever comes first; its timer
 * goes with it, so nothing outlives a closed stand-in.
 */
export function wait(ms: number, signal: AbortSignal): { done: Promise<void>; release: () => void } {
  let release!: () => void;
  const done = new Promise<void>((resolve) => {
    release = resolve;
  });
  const timer = setTimeout(release, ms);
  signal.addEventListener('abort', release, { once: true });
  void done.then(() => {
    clearTimeout(timer);
    signal.removeEventListener('abort', release);
  });
  return { done, release };
}
