import { createHash, randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { ListIndex, type CreatedRange } from './list-index.js';
import { bearerToken, StandIn, type StandInReply, type StandInRequest } from './stand-in.js';
import {
  StripeWebhooks,
  wait,
  type EventSubject,
  type RandomWebhookDelivery,
  type StripeEvent,
  type StripeEventType,
  type WebhookDelivery,
  type WebhookDeliveryMode,
} from './stripe-webhooks.js';

export type { RandomWebhookDelivery, StripeEvent, StripeEventType, WebhookDelivery, WebhookDeliveryMode };

/** A charge the stand-in created, successful or declined. */
export interface RecordedCharge {
  id: string;
  amount: number;
  currency: string;
  customer: string | null;
  orderId?: string;
  idempotencyKey?: string;
  /** The PaymentIntent whose confirmation made it; absent for a legacy `POST /v1/charges`. */
  paymentIntentId?: string;
  status: 'succeeded' | 'failed';
  /** Why it failed (Stripe's decline code, e.g. `authentication_required`); absent when it succeeded. */
  declineCode?: string;
  /** What refunds gave back so far, minor units. */
  amountRefunded: number;
  /** The dispute the card holder opened on it, if any (one per charge, as at Stripe). */
  disputeId?: string;
  /** Seconds since the epoch, on the stand-in's clock. */
  created: number;
  description: string | null;
  /** The request's metadata, or for a PaymentIntent's charge the PaymentIntent's, as Stripe copies it. */
  metadata: Record<string, string>;
}

/**
 * A refund the stand-in made: `succeeded` at once, or `pending` for a while (cus_refund_pending,
 * cus_refund_fails) and then `succeeded` or `failed`, as Stripe settles refunds.
 */
export interface RecordedRefund {
  id: string;
  amount: number;
  currency: string;
  chargeId: string;
  paymentIntentId: string;
  /** The PaymentIntent's metadata.order_id. */
  orderId?: string;
  reason: string | null;
  metadata: Record<string, string>;
  idempotencyKey?: string;
  /** Seconds since the epoch, on the stand-in's clock. */
  created: number;
  status: RefundStatus;
  /** Why a failed refund failed (Stripe's `failure_reason`). */
  failureReason?: string;
}

type RefundStatus = 'pending' | 'succeeded' | 'failed';

/** Why a card holder disputes a payment, as Stripe names it (the common ones). */
export type DisputeReason = 'fraudulent' | 'product_not_received' | 'product_unacceptable' | 'duplicate' | 'unrecognized' | 'general';

/** A dispute in Stripe's wire shape (the fields the stand-in models); the card holder's bank opened it. */
export interface Dispute {
  id: string;
  object: 'dispute';
  amount: number;
  balance_transactions: [];
  charge: string;
  created: number;
  currency: string;
  evidence_details: { due_by: number; has_evidence: false; past_due: false; submission_count: 0 };
  is_charge_refundable: false;
  livemode: false;
  metadata: Record<string, string>;
  payment_intent: string | null;
  reason: DisputeReason;
  status: 'needs_response';
}

type PaymentIntentStatus =
  'requires_payment_method' | 'requires_confirmation' | 'requires_action' | 'processing' | 'succeeded' | 'canceled';

/** A card error as Stripe reports it: in a 402 answer, and in a PaymentIntent's `last_payment_error`. */
interface CardError {
  type: 'card_error';
  code: string;
  decline_code: string;
  message: string;
  charge: string;
}

/** A confirmation the card holder did not authenticate: Stripe reports it as a request error, with no new charge. */
interface AuthenticationFailure {
  type: 'invalid_request_error';
  code: 'payment_intent_authentication_failure';
  message: string;
}

/** A PaymentIntent in Stripe's wire shape (the fields the stand-in models). */
export interface PaymentIntent {
  id: string;
  object: 'payment_intent';
  amount: number;
  amount_capturable: number;
  amount_received: number;
  automatic_payment_methods: { enabled: boolean; allow_redirects?: string } | null;
  canceled_at: number | null;
  cancellation_reason: string | null;
  capture_method: 'automatic';
  client_secret: string;
  confirmation_method: 'automatic';
  created: number;
  currency: string;
  customer: string | null;
  description: string | null;
  /** Stripe keeps the declined payment method here and takes it off the PaymentIntent. */
  last_payment_error:
    ((CardError | AuthenticationFailure) & { payment_method: { id: string; object: 'payment_method'; type: 'card' } }) | null;
  latest_charge: string | null;
  livemode: false;
  metadata: Record<string, string>;
  /** Set while the card holder must authenticate on session (`requires_action`). */
  next_action: { type: 'use_stripe_sdk'; use_stripe_sdk: { type: 'three_d_secure_redirect' } } | null;
  payment_method: string | null;
  payment_method_types: string[];
  status: PaymentIntentStatus;
}

export interface SpecViolation {
  method: string;
  path: string;
  /** stripe-mock's status (400 or 404), or 0 when it did not answer. */
  status: number;
  message: string;
}

type Params = Partial<Record<string, string>>;

type Endpoint =
  | { name: 'createCharge' }
  | { name: 'retrieveCustomer'; id: string }
  | { name: 'createIntent' }
  | { name: 'retrieveIntent'; id: string }
  | { name: 'confirmIntent'; id: string }
  | { name: 'cancelIntent'; id: string }
  | { name: 'listIntents' }
  | { name: 'searchIntents' }
  | { name: 'retrieveCharge'; id: string }
  | { name: 'createRefund' }
  | { name: 'listRefunds' }
  | { name: 'retrieveRefund'; id: string }
  | { name: 'listDisputes' }
  | { name: 'listEvents' };

type EndpointName = Endpoint['name'];

/** One request as the stand-in understands it. */
interface Call {
  request: StandInRequest;
  endpoint: Endpoint;
  params: Params;
  /** POSTs only: Stripe ignores the header on GETs. */
  idempotencyKey: string | undefined;
  /** Method, path and parameters: a key may be used again only with the same. */
  fingerprint: string;
}

/** What an endpoint did: its answer, and the customer whose card it charged or had declined, if any. */
interface Execution {
  reply: StandInReply;
  paidBy?: string | null;
}

/** How a PaymentIntent is confirmed: with which card, whether its holder is there, under which key. */
interface Confirmation {
  paymentMethod: string;
  offSession: boolean;
  idempotencyKey: string | undefined;
}

/** The endpoint's work, planned once the request passed validation. */
type Work = () => Execution;

type KeyRecord =
  { fingerprint: string; state: 'executing' } | { fingerprint: string; state: 'stored'; reply: StandInReply; storedAt: number };

/** A PaymentIntent and the versions of it the search index received, oldest first. */
interface StoredIntent {
  intent: PaymentIntent;
  versions: Array<{ at: number; snapshot: PaymentIntent }>;
}

/** Thrown while validating a request: Stripe refuses it before executing, so nothing is stored for its key. */
class RefusedRequest extends Error {
  constructor(readonly reply: StandInReply) {
    super('refused before executing');
  }
}

const IDEMPOTENCY_KEY_LIFETIME_MS = 24 * 60 * 60 * 1000;
/** Stripe lists the events of the last 30 days only. */
const EVENT_RETENTION_SECONDS = 30 * 24 * 60 * 60;
/** At most this many event types in one `types` filter. */
const MAX_EVENT_TYPES = 20;
/** How long the merchant has to answer a dispute with evidence (`evidence_details.due_by`). */
const DISPUTE_EVIDENCE_SECONDS = 7 * 24 * 60 * 60;
/** What a dispute list may expand: the disputed charge or PaymentIntent, as Stripe allows. */
const DISPUTE_EXPANSIONS = ['data.charge', 'data.payment_intent'];
const DEFAULT_SLOW_SECONDS = 25;
const DEFAULT_PAYMENT_METHOD = 'pm_card_visa';

/** Stripe's test declines, by the customer ID's suffix: `cus_decline_insufficient_funds`. */
const DECLINE_MESSAGES: Record<string, string> = {
  generic_decline: 'Your card was declined.',
  insufficient_funds: 'Your card has insufficient funds.',
  lost_card: 'Your card was declined.',
  stolen_card: 'Your card was declined.',
  expired_card: 'Your card has expired.',
  incorrect_cvc: "Your card's security code is incorrect.",
  processing_error: 'An error occurred while processing your card. Try again in a little bit.',
  authentication_required: 'Your card was declined. This transaction requires authentication.',
};

/** Declines Stripe reports under an error code of their own rather than `card_declined`. */
const OWN_CODE_DECLINES = new Set(['expired_card', 'incorrect_cvc', 'processing_error', 'authentication_required']);

/** Customers whose card needs its holder (SCA); `_completes[_<s>]`: the holder authenticates after <s> seconds. */
const AUTHENTICATING_CUSTOMER = /^cus_authenticate(?:_abandons|_completes(?:_\d+)?)?$/;
const SELF_AUTHENTICATING_CUSTOMER = /^cus_authenticate_completes(?:_(\d+))?$/;
/** Customers whose confirmed payments stay `processing` for <s> seconds (default 3, real time), then succeed. */
const PROCESSING_CUSTOMER = /^cus_processing(?:_(\d+))?$/;
const DEFAULT_PROCESSING_SECONDS = 3;
const DEFAULT_AUTHENTICATION_SECONDS = 3;
/** Customers for whom Stripe burns the first <N> keys (default 1) of each kind of request of an order: a stored 500, nothing done. */
const KEY_BURNING_CUSTOMER = /^cus_burns_keys(?:_x(\d+))?$/;
/** The requests whose keys cus_burns_keys burns. */
const KEY_BURNING_ENDPOINTS = new Set<EndpointName>(['createIntent', 'confirmIntent', 'createRefund']);
/** Customers whose refunds stay `pending` for <s> seconds (default 3, real time), then succeed or fail. */
const SLOW_REFUND_CUSTOMER = /^cus_refund_(pending|fails)(?:_(\d+))?$/;
const DEFAULT_REFUND_SETTLE_SECONDS = 3;
/** Stripe's failure_reason for a refund the card's bank could not take. */
const REFUND_FAILURE_REASON = 'expired_or_canceled_card';
/** Stripe's test payment method whose card always needs its holder. */
const AUTHENTICATING_PAYMENT_METHOD = 'pm_card_authenticationRequired';

/** A failed authentication as Stripe records it in `last_payment_error`. */
const AUTHENTICATION_FAILURE: AuthenticationFailure = {
  type: 'invalid_request_error',
  code: 'payment_intent_authentication_failure',
  message:
    'The provided PaymentMethod has failed authentication. You can provide payment_method_data or a new PaymentMethod to attempt to fulfill this PaymentIntent again.',
};

/** Stripe's test payment methods that decline, and their decline codes. */
const DECLINING_PAYMENT_METHODS: Record<string, string> = {
  pm_card_chargeDeclined: 'generic_decline',
  pm_card_chargeDeclinedInsufficientFunds: 'insufficient_funds',
  pm_card_chargeDeclinedLostCard: 'lost_card',
  pm_card_chargeDeclinedStolenCard: 'stolen_card',
  pm_card_chargeDeclinedExpiredCard: 'expired_card',
  pm_card_chargeDeclinedIncorrectCvc: 'incorrect_cvc',
  pm_card_chargeDeclinedProcessingError: 'processing_error',
};

/** The parameters each endpoint accepts; anything else is refused, as Stripe refuses unknown ones. */
const ACCEPTED_PARAMS: Record<EndpointName, readonly string[]> = {
  createCharge: ['amount', 'currency', 'customer', 'description', 'metadata'],
  retrieveCustomer: [],
  createIntent: [
    'amount',
    'currency',
    'customer',
    'payment_method',
    'confirm',
    'off_session',
    'description',
    'metadata',
    'automatic_payment_methods',
    'allowed_payment_method_types',
  ],
  retrieveIntent: [],
  confirmIntent: ['payment_method', 'off_session', 'return_url'],
  cancelIntent: ['cancellation_reason'],
  listIntents: ['customer', 'created', 'limit', 'starting_after'],
  searchIntents: ['query', 'limit', 'page'],
  retrieveCharge: [],
  createRefund: ['payment_intent', 'charge', 'amount', 'reason', 'metadata'],
  listRefunds: ['payment_intent', 'charge', 'created', 'limit', 'starting_after'],
  retrieveRefund: [],
  listDisputes: ['payment_intent', 'charge', 'created', 'limit', 'starting_after', 'expand'],
  listEvents: ['type', 'types', 'created', 'limit', 'starting_after'],
};

/** Endpoints that charge, or may charge, a card: the ones `cus_fail_*` fails. */
const PAYMENT_ENDPOINTS = new Set<EndpointName>(['createCharge', 'createIntent', 'confirmIntent']);

const CONFIRMABLE = new Set<PaymentIntentStatus>(['requires_payment_method', 'requires_confirmation']);
const CANCELABLE = new Set<PaymentIntentStatus>(['requires_payment_method', 'requires_confirmation', 'requires_action', 'processing']);
const CANCELLATION_REASONS = ['duplicate', 'fraudulent', 'requested_by_customer', 'abandoned'];
const REFUND_REASONS = ['duplicate', 'fraudulent', 'requested_by_customer'];

const ROUTES: Array<{ method: string; path: RegExp; endpoint: (id: string) => Endpoint }> = [
  { method: 'POST', path: /^\/v1\/charges$/, endpoint: () => ({ name: 'createCharge' }) },
  { method: 'GET', path: /^\/v1\/customers\/([^/]+)$/, endpoint: (id) => ({ name: 'retrieveCustomer', id }) },
  { method: 'POST', path: /^\/v1\/payment_intents$/, endpoint: () => ({ name: 'createIntent' }) },
  { method: 'GET', path: /^\/v1\/payment_intents$/, endpoint: () => ({ name: 'listIntents' }) },
  // Before the retrieve route, which would take "search" for an ID.
  { method: 'GET', path: /^\/v1\/payment_intents\/search$/, endpoint: () => ({ name: 'searchIntents' }) },
  { method: 'GET', path: /^\/v1\/payment_intents\/([^/]+)$/, endpoint: (id) => ({ name: 'retrieveIntent', id }) },
  { method: 'POST', path: /^\/v1\/payment_intents\/([^/]+)\/confirm$/, endpoint: (id) => ({ name: 'confirmIntent', id }) },
  { method: 'POST', path: /^\/v1\/payment_intents\/([^/]+)\/cancel$/, endpoint: (id) => ({ name: 'cancelIntent', id }) },
  { method: 'GET', path: /^\/v1\/charges\/([^/]+)$/, endpoint: (id) => ({ name: 'retrieveCharge', id }) },
  { method: 'POST', path: /^\/v1\/refunds$/, endpoint: () => ({ name: 'createRefund' }) },
  { method: 'GET', path: /^\/v1\/refunds$/, endpoint: () => ({ name: 'listRefunds' }) },
  { method: 'GET', path: /^\/v1\/refunds\/([^/]+)$/, endpoint: (id) => ({ name: 'retrieveRefund', id }) },
  { method: 'GET', path: /^\/v1\/disputes$/, endpoint: () => ({ name: 'listDisputes' }) },
  { method: 'GET', path: /^\/v1\/events$/, endpoint: () => ({ name: 'listEvents' }) },
];

/** The page a customer visits to authenticate a payment: no API key, for a person. */
const CUSTOMER_PAGE = /^\/sandbox\/pay\/([^/?]+)(?:\?.*)?$/;

/**
 * A stand-in for the Stripe API as strict as Stripe: customers, PaymentIntents (create, confirm,
 * retrieve, list, search, cancel), refunds (create, list, retrieve), charges (retrieve), disputes (list;
 * a card holder opens one with `openDispute`), events (list, the last 30 days) and the legacy
 * `POST /v1/charges`, in Stripe's wire format (form-encoded requests, JSON answers, Stripe error
 * bodies, 402 for declines), with Stripe's idempotency rules: a POST whose endpoint began executing
 * stores its answer (500s included) under its Idempotency-Key and replays it for 24 h with
 * `Idempotent-Replayed: true`; the same key with other parameters is an idempotency_error; a key whose
 * request is still executing gets 409; refusals before executing (validation, 401, 404, injected
 * faults) store nothing. Search lags `searchLagMs` behind the truth; list and retrieve do not. Time is
 * the stand-in's clock (`now`, `advanceClock`).
 *
 * Webhooks: after `sendWebhooksTo(url, secret)` every payment_intent.succeeded, .payment_failed,
 * .canceled and charge.refunded event (the ones the endpoint subscribes to; charge.dispute.created is
 * listed, not sent) is POSTed to `url` signed as Stripe signs (`Stripe-Signature`),
 * never delaying the answer that caused it, retried on a non-2xx answer, in the `webhookDelivery`
 * mode (see WebhookDeliveryMode). `events` holds every event; `webhookDeliveries` every attempt.
 *
 * Magic customer IDs (every `cus_...` exists):
 *   cus_<anything else>           default payment method pm_card_visa; payments succeed
 *   cus_no_payment_method         no default payment method: the caller must name one
 *   cus_decline[_<decline_code>]  confirmations are declined (402), e.g. cus_decline_insufficient_funds
 *   cus_authenticate              the card needs its holder (SCA): an off-session confirmation is
 *                                 declined (402 authentication_required), an on-session one waits in
 *                                 requires_action; the holder comes back through `completeCustomerAction`
 *                                 or the page `GET /sandbox/pay/<order_id>`
 *   cus_authenticate_completes[_<s>]  as cus_authenticate; the holder authenticates by themselves
 *                                 <s> seconds (default 3, real time) after the card asked for them
 *   cus_authenticate_abandons     as cus_authenticate, named for a holder who never comes back
 *   cus_fail_<status>[_x<N>]      payment POSTs (charge, PaymentIntent create and confirm) answer
 *                                 <status> (500, 503, 429) before executing to the first N attempts
 *                                 per idempotency key (every attempt without _xN); nothing stored
 *   cus_down[_<seconds>]          Stripe is down: every request about this customer answers 503
 *                                 before executing, forever or for <seconds> after the first one
 *   cus_error_after_charge        the confirmation charges the card, then answers 500; that answer
 *                                 is stored and replayed to every retry under the key
 *   cus_lost_after_charge         the confirmation charges the card, then the connection drops; a
 *                                 retry under the key gets the stored answer (so only the first is lost)
 *   cus_slow[_<seconds>]          the confirmation charges at once but answers after <seconds>
 *                                 (default 25); the key is in use (409) meanwhile, and another change
 *                                 of the PaymentIntent (cancel, refund) is refused 429 lock_timeout
 *   cus_burns_keys[_x<N>]         the first N keys (default 1) an order uses to create, confirm or
 *                                 refund its PaymentIntent are burnt: Stripe stores a 500 for the key
 *                                 without doing anything, and replays it to every retry under the key
 *   cus_processing[_<s>]          a confirmation answers `processing` (Stripe has not decided yet); the
 *                                 payment succeeds <s> seconds later (default 3)
 *   cus_refund_pending[_<s>]      refunds answer `pending` and succeed <s> seconds later (default 3)
 *   cus_refund_fails[_<s>]        refunds answer `pending` and fail <s> seconds later (default 3,
 *                                 failure_reason expired_or_canceled_card): the amount returns to the
 *                                 merchant (the charge's amount_refunded drops), charge.refund.updated is sent
 * Declining test payment methods: pm_card_chargeDeclined, pm_card_chargeDeclinedInsufficientFunds,
 * pm_card_chargeDeclinedExpiredCard (and ...LostCard, ...StolenCard, ...IncorrectCvc,
 * ...ProcessingError); pm_card_authenticationRequired needs its holder as cus_authenticate does.
 * Any other `pm_...` is a card that pays. Other refunds succeed at once; legacy charges are not refundable here.
 */
export class StripeStandIn extends StandIn {
  // Each list indexed by ID, oldest first, so 100,000 objects page and look up without scans.
  private readonly chargeList = new ListIndex<RecordedCharge>((charge) => charge);
  private readonly refundList = new ListIndex<RecordedRefund>((refund) => refund);
  private readonly disputes = new ListIndex<Dispute>((dispute) => dispute);
  /** How long after a change a PaymentIntent's new state is found by search. */
  searchLagMs = 60_000;
  /** Search requests a second before Stripe answers 429 rate_limit (live mode allows about 20); undefined: no limit. */
  searchRatePerSecond: number | undefined;
  private readonly searchTimes: number[] = [];
  /** Requests stripe-mock refused (400, 404) or could not check, once `checkSpecAgainst` was called. */
  readonly specViolations: SpecViolation[] = [];
  /** Requests sent to stripe-mock for checking. */
  specChecked = 0;
  private specUrl: string | undefined;
  private clockOffsetMs = 0;
  private readonly openedAt = Date.now();
  private readonly intents = new ListIndex<StoredIntent>((stored) => stored.intent);
  private readonly keys = new Map<string, KeyRecord>();
  /** Requests that executed under a key, so a fault after handling can replace the stored answer. */
  private readonly executedUnderKey = new WeakMap<StandInRequest, { key: string; fingerprint: string }>();
  private readonly failedAttempts = new Map<string, number>();
  /** PaymentIntents a request is changing right now (a cus_slow confirmation holds its lock while it answers late). */
  private readonly lockedIntents = new Set<string>();
  /** cus_burns_keys: the keys burnt so far, by kind of request and order. */
  private readonly burntKeys = new Map<string, Set<string>>();
  private readonly downSince = new Map<string, number>();
  /** Aborted by close(): ends every timer and pending webhook delivery. */
  private readonly closing = new AbortController();
  private readonly webhooks = new StripeWebhooks(this.closing.signal);

  constructor() {
    super('Stripe');
  }

  override async close(): Promise<void> {
    this.closing.abort();
    await super.close();
  }

  /** The stand-in's clock (ms since the epoch): real time plus what `advanceClock` added. */
  now(): number {
    return Date.now() + this.clockOffsetMs;
  }

  /** Moves the stand-in's clock forward: expires idempotency keys, catches search up, ends timed outages. */
  advanceClock(ms: number): void {
    this.clockOffsetMs += ms;
  }

  /** From now on every request is also sent to `url` (stripe-mock) and its refusals are recorded. */
  checkSpecAgainst(url: string): void {
    this.specUrl = url;
  }

  /** Every charge, oldest first. */
  get charges(): readonly RecordedCharge[] {
    return this.chargeList.values();
  }

  /** Every refund, oldest first. */
  get refunds(): readonly RecordedRefund[] {
    return this.refundList.values();
  }

  /** Every PaymentIntent, oldest first, as it is now. */
  get paymentIntents(): readonly PaymentIntent[] {
    return this.intents.values().map((stored) => stored.intent);
  }

  /** PaymentIntents for one order (by metadata.order_id), oldest first. */
  paymentIntentsFor(orderId: string): PaymentIntent[] {
    return this.paymentIntents.filter((intent) => intent.metadata.order_id === orderId);
  }

  /** Successful charges for one order (by metadata.order_id), legacy and PaymentIntent alike. */
  successfulCharges(orderId: string): RecordedCharge[] {
    return this.charges.filter((charge) => charge.orderId === orderId && charge.status === 'succeeded');
  }

  /** Refunds for one order (by its PaymentIntent's metadata.order_id), oldest first. */
  refundsFor(orderId: string): RecordedRefund[] {
    return this.refunds.filter((refund) => refund.orderId === orderId);
  }

  /**
   * The card holder comes back on session to a PaymentIntent waiting for them: 'succeeds' confirms it
   * (a succeeded charge), 'fails' leaves it in requires_payment_method with Stripe's authentication
   * failure. False, changing nothing, when the PaymentIntent waits for no one (canceled, paid, unknown).
   */
  completeCustomerAction(paymentIntentId: string, outcome: 'succeeds' | 'fails'): boolean {
    const stored = this.intents.get(paymentIntentId);
    if (!stored || !awaitsCardHolder(stored.intent)) return false;
    // requires_action keeps the card on the PaymentIntent; an off-session decline keeps it in last_payment_error.
    const paymentMethod = stored.intent.payment_method ?? stored.intent.last_payment_error!.payment_method.id;
    if (outcome === 'succeeds') this.succeed(stored, paymentMethod, undefined);
    else this.failAuthentication(stored, paymentMethod);
    return true;
  }

  /**
   * Plants a disagreement for the reconciliation sweep to find: the PaymentIntent's record is changed
   * behind the order's run, as no request could change it, with the event Stripe would create for the
   * change. 'succeeded' charges its card (a succeeded charge); 'canceled' leaves it canceled with no
   * succeeded payment. False when there is no such PaymentIntent.
   */
  plantPaymentIntentStatus(paymentIntentId: string, status: 'succeeded' | 'canceled'): boolean {
    const stored = this.intents.get(paymentIntentId);
    if (!stored) return false;
    if (status === 'succeeded') {
      const paymentMethod = stored.intent.payment_method ?? stored.intent.last_payment_error?.payment_method.id ?? 'pm_card_visa';
      this.succeed(stored, paymentMethod, undefined);
    } else {
      this.update(stored, { status: 'canceled', amount_received: 0, latest_charge: null, canceled_at: Math.floor(this.now() / 1000) });
      this.emitIntentEvent('payment_intent.canceled', stored.intent, undefined);
    }
    return true;
  }

  /**
   * The card holder disputes a succeeded charge of a PaymentIntent through their bank, as can happen
   * weeks after the payment: Stripe records a dispute for the charge's amount (`needs_response`, evidence
   * due in 7 days), marks the charge `disputed` and creates a charge.dispute.created event. Undefined,
   * changing nothing, for a charge that is unknown, failed, legacy or already disputed.
   */
  openDispute(chargeId: string, reason: DisputeReason = 'fraudulent'): Dispute | undefined {
    const charge = this.findCharge(chargeId);
    const stored = this.intents.get(charge?.paymentIntentId ?? '');
    if (!charge || !stored || charge.status !== 'succeeded' || charge.disputeId !== undefined) return undefined;
    const created = Math.floor(this.now() / 1000);
    const dispute: Dispute = {
      id: `dp_${randomBytes(12).toString('hex')}`,
      object: 'dispute',
      amount: charge.amount,
      balance_transactions: [],
      charge: charge.id,
      created,
      currency: charge.currency,
      evidence_details: { due_by: created + DISPUTE_EVIDENCE_SECONDS, has_evidence: false, past_due: false, submission_count: 0 },
      is_charge_refundable: false,
      livemode: false,
      metadata: {},
      payment_intent: stored.intent.id,
      reason,
      status: 'needs_response',
    };
    charge.disputeId = dispute.id;
    this.disputes.push(dispute);
    this.webhooks.emit('charge.dispute.created', structuredClone(dispute), this.eventSubject(stored.intent, undefined));
    return structuredClone(dispute);
  }

  /** From now on every event is POSTed to `url`, signed with `secret` (the endpoint's `whsec_...`). */
  sendWebhooksTo(url: string, secret: string): void {
    this.webhooks.sendTo(url, secret);
  }

  /** Every event created, oldest first, whether or not an endpoint was set. */
  get events(): readonly StripeEvent[] {
    return this.webhooks.events;
  }

  /** Every delivery attempt, in the order they ended. */
  get webhookDeliveries(): readonly WebhookDelivery[] {
    return this.webhooks.deliveries;
  }

  /** How the next events are delivered (default on_time); a random delivery set takes precedence. */
  get webhookDelivery(): WebhookDeliveryMode {
    return this.webhooks.mode;
  }

  set webhookDelivery(mode: WebhookDeliveryMode) {
    this.webhooks.mode = mode;
  }

  /** How long a `late` event is held (default 5 s). */
  get webhookLateMs(): number {
    return this.webhooks.lateMs;
  }

  set webhookLateMs(ms: number) {
    this.webhooks.lateMs = ms;
  }

  /** A delivery mode drawn per event (for the fault suite); undefined goes back to `webhookDelivery`. */
  setRandomWebhookDelivery(random: RandomWebhookDelivery | undefined): void {
    this.webhooks.random = random;
  }

  /** Delivers an earlier event again, now, as Stripe's "resend"; resolves once it was attempted. Throws for an unknown event or no endpoint. */
  resendEvent(eventId: string): Promise<void> {
    return this.webhooks.resend(eventId);
  }

  /** Resolves once every held or queued webhook delivery has been attempted (retries included). */
  webhooksSettled(): Promise<void> {
    return this.webhooks.settled();
  }

  protected errorBody(status: number): unknown {
    if (status === 429)
      return { error: { type: 'invalid_request_error', code: 'rate_limit', message: 'Too many requests hit the API too quickly.' } };
    if (status >= 500) return { error: { type: 'api_error', message: 'An unknown error occurred on our servers.' } };
    return { error: { type: 'invalid_request_error', message: `Injected ${status} error.` } };
  }

  /** The request executed, then failed: Stripe stores that failure for the key and replays it. */
  protected override afterExecutionError(request: StandInRequest, reply: StandInReply, status: number): StandInReply {
    const error = super.afterExecutionError(request, reply, status);
    const executed = this.executedUnderKey.get(request);
    if (!executed) return error;
    this.storeAnswer(executed.key, executed.fingerprint, error);
    return withKeyEcho(error, executed.key);
  }

  protected async handle(request: StandInRequest): Promise<StandInReply> {
    const page = request.method === 'GET' ? CUSTOMER_PAGE.exec(request.path) : null;
    // Not Stripe's API: no key, and nothing for stripe-mock to check.
    if (page) return this.customerPage(decodeURIComponent(page[1]));
    if (this.specUrl) await this.checkSpec(request, this.specUrl);
    const token = bearerToken(request.headers);
    if (!token || !/^(sk|rk)_test_/.test(token)) {
      return {
        status: 401,
        body: { error: { type: 'invalid_request_error', message: `Invalid API Key provided: ${(token ?? '').slice(0, 8)}****` } },
      };
    }
    const call = parseCall(request);
    if (!call) {
      return {
        status: 404,
        body: { error: { type: 'invalid_request_error', message: `Unrecognized request URL (${request.method}: ${request.path}).` } },
      };
    }
    const reply = this.outage(call) ?? this.searchThrottled(call) ?? (request.method === 'POST' ? await this.post(call) : this.get(call));
    return withKeyEcho(reply, call.idempotencyKey);
  }

  /** The holder authenticates the order's newest PaymentIntent waiting for them, as on a bank's 3-D Secure page. */
  private customerPage(orderId: string): StandInReply {
    const waiting = this.paymentIntentsFor(orderId).reverse().find(awaitsCardHolder);
    const headers = { 'content-type': 'text/plain; charset=utf-8' };
    if (!waiting) return { status: 404, headers, text: `No payment of order ${orderId} is waiting for the card holder.\n` };
    this.completeCustomerAction(waiting.id, 'succeeds');
    return { status: 200, headers, text: `Payment ${waiting.id} of order ${orderId} confirmed. You can close this page.\n` };
  }

  /** A GET: no idempotency, never stored. */
  private get(call: Call): StandInReply {
    const work = this.plan(call);
    return work instanceof RefusedRequest ? work.reply : work().reply;
  }

  /** A POST, under Stripe's idempotency rules. */
  private async post(call: Call): Promise<StandInReply> {
    const key = call.idempotencyKey;
    const earlier = key === undefined ? undefined : this.earlierAnswer(key, call.fingerprint);
    if (earlier) return earlier;
    const work = this.plan(call);
    if (work instanceof RefusedRequest) return work.reply;
    if (key !== undefined && this.burnsKey(call, key)) {
      const burnt = { status: 500, body: this.errorBody(500) };
      this.storeAnswer(key, call.fingerprint, burnt);
      return burnt;
    }
    // Stripe locks a PaymentIntent while a request changes it: another change meanwhile is refused (429 lock_timeout).
    const intentId = this.intentChangedBy(call);
    if (intentId !== undefined && this.lockedIntents.has(intentId)) return lockTimeout();
    if (intentId !== undefined) this.lockedIntents.add(intentId);
    let execution: Execution;
    try {
      execution = key === undefined ? await this.execute(work) : await this.executeUnderKey(work, call, key);
    } finally {
      if (intentId !== undefined) this.lockedIntents.delete(intentId);
    }
    // cus_lost_after_charge: the answer of an execution never arrives; a replay (of the stored answer) does.
    return execution.paidBy === 'cus_lost_after_charge' ? { ...execution.reply, dropConnection: true } : execution.reply;
  }

  /** The PaymentIntent a POST changes (confirm, cancel, a refund of it), if any. */
  private intentChangedBy(call: Call): string | undefined {
    if (call.endpoint.name === 'confirmIntent' || call.endpoint.name === 'cancelIntent') return call.endpoint.id;
    if (call.endpoint.name === 'createRefund') return call.params.payment_intent;
    return undefined;
  }

  /**
   * cus_burns_keys[_x<N>]: whether Stripe fails this request after it began executing (its 500 is
   * stored for the key) yet before it did anything: true for the first N keys of each kind of request
   * of one order.
   */
  private burnsKey(call: Call, key: string): boolean {
    const burning = KEY_BURNING_CUSTOMER.exec(this.customerOf(call) ?? '');
    if (!burning || !KEY_BURNING_ENDPOINTS.has(call.endpoint.name)) return false;
    const orderId =
      call.endpoint.name === 'createIntent'
        ? call.params['metadata[order_id]']
        : this.intents.get(call.endpoint.name === 'confirmIntent' ? call.endpoint.id : (call.params.payment_intent ?? ''))?.intent.metadata
            .order_id;
    const kind = `${call.endpoint.name}:${orderId ?? ''}`;
    const burnt = this.burntKeys.get(kind) ?? new Set<string>();
    this.burntKeys.set(kind, burnt);
    if (burnt.size >= Number(burning[1] ?? 1)) return false;
    burnt.add(key);
    return true;
  }

  /** The key is in use while the work runs; then it holds the answer, whatever it is. */
  private async executeUnderKey(work: Work, call: Call, key: string): Promise<Execution> {
    this.keys.set(key, { fingerprint: call.fingerprint, state: 'executing' });
    let execution: Execution;
    try {
      execution = await this.execute(work);
    } catch (error) {
      // A bug in the stand-in (the base answers 500): free the key rather than leave it in use for good.
      this.keys.delete(key);
      throw error;
    }
    this.storeAnswer(key, call.fingerprint, execution.reply);
    this.executedUnderKey.set(call.request, { key, fingerprint: call.fingerprint });
    return execution;
  }

  private storeAnswer(key: string, fingerprint: string, reply: StandInReply): void {
    this.keys.set(key, { fingerprint, state: 'stored', reply, storedAt: this.now() });
  }

  /** What a key already answers: a replay, a mismatch, or "in use"; undefined for a new (or forgotten) key. */
  private earlierAnswer(key: string, fingerprint: string): StandInReply | undefined {
    const record = this.keys.get(key);
    if (!record) return undefined;
    if (record.state === 'stored' && this.now() - record.storedAt >= IDEMPOTENCY_KEY_LIFETIME_MS) {
      this.keys.delete(key);
      return undefined;
    }
    if (record.fingerprint !== fingerprint) {
      return idempotencyError(
        400,
        `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key}' if you meant to execute a different request.`,
      );
    }
    if (record.state === 'executing') {
      return idempotencyError(
        409,
        `There is currently another in-progress request using this Idempotency Key (that probably means you submitted twice, and the other request is still going through): ${key}. Please try again later.`,
        'idempotency_key_in_use',
      );
    }
    return { ...record.reply, headers: { ...record.reply.headers, 'idempotent-replayed': 'true' } };
  }

  /** Runs the endpoint's work; a payment's answer then meets its customer's sandbox behaviour. */
  private async execute(work: Work): Promise<Execution> {
    const execution = work();
    const customer = execution.paidBy ?? '';
    if (customer === 'cus_error_after_charge') return { ...execution, reply: { status: 500, body: this.errorBody(500) } };
    const slow = /^cus_slow(?:_(\d+))?$/.exec(customer);
    if (slow) await sleep(Number(slow[1] ?? DEFAULT_SLOW_SECONDS) * 1000);
    return execution;
  }

  /** Search's own rate limit: beyond `searchRatePerSecond` in the last second, 429 rate_limit, as Stripe answers. */
  private searchThrottled(call: Call): StandInReply | undefined {
    if (call.endpoint.name !== 'searchIntents' || this.searchRatePerSecond === undefined) return undefined;
    const now = this.now();
    while (this.searchTimes.length > 0 && now - this.searchTimes[0] >= 1000) this.searchTimes.shift();
    if (this.searchTimes.length >= this.searchRatePerSecond) {
      return {
        status: 429,
        body: {
          error: {
            type: 'invalid_request_error',
            code: 'rate_limit',
            message: 'Request rate limit exceeded. Learn more about rate limits here https://stripe.com/docs/rate-limits.',
          },
        },
      };
    }
    this.searchTimes.push(now);
    return undefined;
  }

  /** A failure before executing, by the customer the request is about: cus_down, cus_fail. */
  private outage(call: Call): StandInReply | undefined {
    const customer = this.customerOf(call);
    if (!customer) return undefined;
    return this.downFor(customer) ?? (PAYMENT_ENDPOINTS.has(call.endpoint.name) ? this.failedAttempt(customer, call) : undefined);
  }

  private downFor(customer: string): StandInReply | undefined {
    const down = /^cus_down(?:_(\d+))?$/.exec(customer);
    if (!down) return undefined;
    const since = this.downSince.get(customer) ?? this.now();
    this.downSince.set(customer, since);
    const stillDown = down[1] === undefined || this.now() - since < Number(down[1]) * 1000;
    return stillDown ? { status: 503, body: this.errorBody(503) } : undefined;
  }

  private failedAttempt(customer: string, call: Call): StandInReply | undefined {
    const failure = /^cus_fail_(\d{3})(?:_x(\d+))?$/.exec(customer);
    if (!failure) return undefined;
    const key = attemptKey(call, customer);
    const attempt = (this.failedAttempts.get(key) ?? 0) + 1;
    this.failedAttempts.set(key, attempt);
    if (failure[2] !== undefined && attempt > Number(failure[2])) return undefined;
    const status = Number(failure[1]);
    return { status, body: this.errorBody(status) };
  }

  /** The customer a request is about: named in it, or the owner of the PaymentIntent it names. */
  private customerOf(call: Call): string | undefined {
    const { endpoint, params } = call;
    switch (endpoint.name) {
      case 'retrieveCustomer':
        return endpoint.id;
      case 'createCharge':
      case 'createIntent':
      case 'listIntents':
        return params.customer;
      case 'retrieveIntent':
      case 'confirmIntent':
      case 'cancelIntent':
        return this.intents.get(endpoint.id)?.intent.customer ?? undefined;
      case 'searchIntents':
        return /customer\s*:\s*['"]([^'"]+)['"]/.exec(params.query ?? '')?.[1];
      case 'retrieveCharge':
        return this.findCharge(endpoint.id)?.customer ?? undefined;
      case 'createRefund':
      case 'listRefunds': {
        const paid =
          params.payment_intent !== undefined ? this.intents.get(params.payment_intent)?.intent : this.findCharge(params.charge ?? '');
        return paid?.customer ?? undefined;
      }
      case 'retrieveRefund': {
        const refund = this.refundList.get(endpoint.id);
        return refund ? (this.intents.get(refund.paymentIntentId)?.intent.customer ?? undefined) : undefined;
      }
      case 'listDisputes':
      case 'listEvents':
        return undefined;
    }
  }

  /** Validates the request and plans its work; a refusal is returned, not thrown. */
  private plan(call: Call): Work | RefusedRequest {
    try {
      rejectUnknownParams(call.params, ACCEPTED_PARAMS[call.endpoint.name]);
      return this.planEndpoint(call);
    } catch (error) {
      if (error instanceof RefusedRequest) return error;
      throw error;
    }
  }

  private planEndpoint({ endpoint, params, idempotencyKey }: Call): Work {
    switch (endpoint.name) {
      case 'createCharge':
        return this.planCharge(params, idempotencyKey);
      case 'retrieveCustomer':
        return this.planCustomer(endpoint.id);
      case 'createIntent':
        return this.planCreateIntent(params, idempotencyKey);
      case 'retrieveIntent': {
        const stored = this.storedIntent(endpoint.id);
        return () => ({ reply: ok(snapshot(stored.intent)) });
      }
      case 'confirmIntent':
        return this.planConfirmIntent(endpoint.id, params, idempotencyKey);
      case 'cancelIntent':
        return this.planCancelIntent(endpoint.id, params, idempotencyKey);
      case 'listIntents':
        return this.planList(params);
      case 'searchIntents':
        return this.planSearch(params);
      case 'retrieveCharge':
        return this.planRetrieveCharge(endpoint.id);
      case 'createRefund':
        return this.planRefund(params, idempotencyKey);
      case 'listRefunds':
        return this.planListRefunds(params);
      case 'retrieveRefund':
        return this.planRetrieveRefund(endpoint.id);
      case 'listDisputes':
        return this.planListDisputes(params);
      case 'listEvents':
        return this.planListEvents(params);
    }
  }

  private planCustomer(id: string): Work {
    if (!isCustomerId(id)) throw new RefusedRequest(resourceMissing('customer', id, 'id', 404));
    return () => ({ reply: ok(this.customerObject(id)) });
  }

  private customerObject(id: string): unknown {
    return {
      id,
      object: 'customer',
      balance: 0,
      created: Math.floor(this.openedAt / 1000),
      currency: null,
      default_source: null,
      delinquent: false,
      description: null,
      email: null,
      invoice_settings: {
        custom_fields: null,
        default_payment_method: id === 'cus_no_payment_method' ? null : DEFAULT_PAYMENT_METHOD,
        footer: null,
        rendering_options: null,
      },
      livemode: false,
      metadata: {},
      name: null,
      phone: null,
      preferred_locales: [],
      shipping: null,
      tax_exempt: 'none',
      test_clock: null,
    };
  }

  /** The legacy Charges API: validates like the PaymentIntents, charges the customer at once. */
  private planCharge(params: Params, idempotencyKey: string | undefined): Work {
    const amount = amountParam(params);
    const currency = currencyParam(params);
    const customer = params.customer;
    if (!customer) throw new RefusedRequest(invalidParam('customer', 'Must provide source or customer.'));
    const metadata = metadataParam(params);
    const description = params.description ?? null;
    return () => {
      const declineCode = customerDeclineCode(customer);
      const charge = this.recordCharge(
        { amount, currency, customer, orderId: metadata.order_id, idempotencyKey, description, metadata },
        declineCode,
      );
      if (declineCode) return { reply: { status: 402, body: { error: cardError(declineCode, charge.id) } }, paidBy: customer };
      return { reply: ok(chargeObject(charge)), paidBy: customer };
    };
  }

  private planCreateIntent(params: Params, idempotencyKey: string | undefined): Work {
    const amount = amountParam(params);
    const currency = currencyParam(params);
    const customer = params.customer ?? null;
    if (customer !== null && !isCustomerId(customer)) throw new RefusedRequest(resourceMissing('customer', customer, 'customer', 400));
    const paymentMethod = paymentMethodParam(params);
    const confirm = booleanParam(params, 'confirm') ?? false;
    const offSession = booleanParam(params, 'off_session');
    if (offSession !== undefined && !confirm)
      throw new RefusedRequest(invalidParam('off_session', 'off_session can only be used when confirm=true.'));
    if (confirm && !paymentMethod) throw new RefusedRequest(missingPaymentMethod(customer));
    const fields = {
      amount,
      currency,
      customer,
      description: params.description ?? null,
      metadata: metadataParam(params),
      ...paymentMethodTypesParams(params),
      payment_method: paymentMethod ?? null,
    };
    return () => {
      const stored = this.createIntent(fields);
      if (confirm && paymentMethod) return this.confirmIntent(stored, { paymentMethod, offSession: offSession ?? false, idempotencyKey });
      return { reply: ok(snapshot(stored.intent)) };
    };
  }

  private planConfirmIntent(id: string, params: Params, idempotencyKey: string | undefined): Work {
    const stored = this.storedIntent(id);
    const namedPaymentMethod = paymentMethodParam(params);
    const offSession = booleanParam(params, 'off_session') ?? false;
    return () => {
      if (!CONFIRMABLE.has(stored.intent.status)) return { reply: unexpectedState('confirm', stored.intent) };
      const paymentMethod = namedPaymentMethod ?? stored.intent.payment_method;
      if (!paymentMethod) return { reply: missingPaymentMethod(stored.intent.customer) };
      return this.confirmIntent(stored, { paymentMethod, offSession, idempotencyKey });
    };
  }

  private planCancelIntent(id: string, params: Params, idempotencyKey: string | undefined): Work {
    const stored = this.storedIntent(id);
    const reason = oneOfParam(params, 'cancellation_reason', CANCELLATION_REASONS);
    return () => {
      if (!CANCELABLE.has(stored.intent.status)) return { reply: unexpectedState('cancel', stored.intent) };
      this.update(stored, {
        status: 'canceled',
        canceled_at: Math.floor(this.now() / 1000),
        cancellation_reason: reason ?? null,
        next_action: null,
      });
      this.emitIntentEvent('payment_intent.canceled', stored.intent, idempotencyKey);
      return { reply: ok(snapshot(stored.intent)) };
    };
  }

  /**
   * A refund of the succeeded charge of a PaymentIntent, named by the PaymentIntent or by the charge:
   * the whole unrefunded amount unless `amount` says less. Refusals that depend on what was paid or
   * refunded come from executing, so the key stores them.
   */
  private planRefund(params: Params, idempotencyKey: string | undefined): Work {
    const { intent, chargeId } = this.refundTarget(params);
    const amount = integerParam(params, 'amount', 1);
    const reason = oneOfParam(params, 'reason', REFUND_REASONS) ?? null;
    const metadata = metadataParam(params);
    return () => {
      const charge = this.findCharge(chargeId ?? intent.latest_charge ?? '');
      if (charge?.status !== 'succeeded') return { reply: nothingToRefund(chargeId) };
      const unrefunded = charge.amount - charge.amountRefunded;
      if (unrefunded === 0) return { reply: alreadyRefunded(charge.id) };
      if (amount !== undefined && amount > unrefunded) return { reply: refundTooLarge(amount, unrefunded, charge.currency) };
      return { reply: ok(this.refund(intent, charge, { amount: amount ?? unrefunded, reason, metadata, idempotencyKey })) };
    };
  }

  /** The PaymentIntent to refund, and the charge when the request names one; legacy charges are not refundable here. */
  private refundTarget(params: Params): { intent: PaymentIntent; chargeId?: string } {
    const { payment_intent: intentId, charge: chargeId } = params;
    if (intentId !== undefined && chargeId !== undefined) {
      throw new RefusedRequest(invalidParam('charge', 'You may only specify one of these parameters: charge, payment_intent.'));
    }
    if (intentId !== undefined) {
      const stored = this.intents.get(intentId);
      if (!stored) throw new RefusedRequest(resourceMissing('payment_intent', intentId, 'payment_intent', 400));
      return { intent: stored.intent };
    }
    if (chargeId === undefined) {
      throw new RefusedRequest(
        invalidParam(
          'payment_intent',
          'One of the following params should be provided for this request: payment_intent or charge.',
          'parameter_missing',
        ),
      );
    }
    const charge = this.findCharge(chargeId);
    if (!charge) throw new RefusedRequest(resourceMissing('charge', chargeId, 'charge', 400));
    const stored = this.intents.get(charge.paymentIntentId ?? '');
    if (!stored)
      throw new RefusedRequest(
        invalidParam('charge', `The Stripe stand-in refunds PaymentIntents' charges only; ${chargeId} was made by the legacy Charges API.`),
      );
    return { intent: stored.intent, chargeId };
  }

  private refund(
    intent: PaymentIntent,
    charge: RecordedCharge,
    fields: Pick<RecordedRefund, 'amount' | 'reason' | 'metadata' | 'idempotencyKey'>,
  ): unknown {
    const refund: RecordedRefund = {
      id: `re_${randomBytes(12).toString('hex')}`,
      ...fields,
      currency: charge.currency,
      chargeId: charge.id,
      paymentIntentId: intent.id,
      ...(intent.metadata.order_id !== undefined && { orderId: intent.metadata.order_id }),
      created: Math.floor(this.now() / 1000),
      status: SLOW_REFUND_CUSTOMER.test(intent.customer ?? '') ? 'pending' : 'succeeded',
    };
    this.refundList.push(refund);
    charge.amountRefunded += refund.amount;
    const subject = this.eventSubject(intent, fields.idempotencyKey);
    this.webhooks.emit('refund.created', refundObject(refund), subject);
    this.webhooks.emit('charge.refunded', chargeObject(charge), subject);
    this.expectRefundSettled(intent, refund);
    return refundObject(refund);
  }

  /** cus_refund_pending / cus_refund_fails: the pending refund settles by itself <s> seconds (real time) later. */
  private expectRefundSettled(intent: PaymentIntent, refund: RecordedRefund): void {
    const slow = SLOW_REFUND_CUSTOMER.exec(intent.customer ?? '');
    if (!slow) return;
    const { signal } = this.closing;
    void wait(Number(slow[2] ?? DEFAULT_REFUND_SETTLE_SECONDS) * 1000, signal).done.then(() => {
      if (!signal.aborted) this.settleRefund(refund.id, slow[1] === 'pending' ? 'succeeded' : 'failed');
    });
  }

  /**
   * Settles a pending refund as Stripe would: `failed` gives the amount back to the merchant (the
   * charge's amount_refunded drops). Sends charge.refund.updated and refund.updated, and refund.failed for a failure, as
   * Stripe does. False if the refund is not pending.
   */
  settleRefund(refundId: string, outcome: 'succeeded' | 'failed'): boolean {
    const refund = this.refunds.find((candidate) => candidate.id === refundId);
    const charge = refund && this.findCharge(refund.chargeId);
    const stored = refund && this.intents.get(refund.paymentIntentId);
    if (refund?.status !== 'pending' || !charge || !stored) return false;
    refund.status = outcome;
    if (outcome === 'failed') {
      refund.failureReason = REFUND_FAILURE_REASON;
      charge.amountRefunded -= refund.amount;
    }
    const subject = this.eventSubject(stored.intent, refund.idempotencyKey);
    for (const type of ['charge.refund.updated', 'refund.updated', ...(outcome === 'failed' ? ['refund.failed' as const] : [])] as const)
      this.webhooks.emit(type, refundObject(refund), subject);
    return true;
  }

  /** List: strongly consistent, newest first, cursor `starting_after`; by PaymentIntent or charge when named. */
  private planListRefunds(params: Params): Work {
    const page = listPaging(params, 'refund', this.refundList);
    const { payment_intent: intentId, charge: chargeId } = params;
    return () => {
      const { items, hasMore } = page(
        (refund) =>
          (intentId === undefined || refund.paymentIntentId === intentId) && (chargeId === undefined || refund.chargeId === chargeId),
      );
      return { reply: ok({ object: 'list', data: items.map(refundObject), has_more: hasMore, url: '/v1/refunds' }) };
    };
  }

  private planRetrieveRefund(id: string): Work {
    const refund = this.refundList.get(id);
    if (!refund) throw new RefusedRequest(resourceMissing('refund', id, 'id', 404));
    return () => ({ reply: ok(refundObject(refund)) });
  }

  /** List: newest first, by PaymentIntent or charge when named; `expand` gives each dispute's charge or PaymentIntent in place of its ID. */
  private planListDisputes(params: Params): Work {
    const page = listPaging(params, 'dispute', this.disputes);
    const expand = arrayParam(params, 'expand') ?? [];
    const refused = expand.find((field) => !DISPUTE_EXPANSIONS.includes(field));
    if (refused !== undefined) throw new RefusedRequest(invalidParam('expand', `This property cannot be expanded (${refused}).`));
    const { payment_intent: intentId, charge: chargeId } = params;
    return () => {
      const { items, hasMore } = page(
        (dispute) =>
          (intentId === undefined || dispute.payment_intent === intentId) && (chargeId === undefined || dispute.charge === chargeId),
      );
      const data = items.map((dispute) => ({
        ...dispute,
        ...(expand.includes('data.charge') && { charge: chargeObject(this.findCharge(dispute.charge)!) }),
        ...(expand.includes('data.payment_intent') &&
          dispute.payment_intent !== null && { payment_intent: snapshot(this.intents.get(dispute.payment_intent)!.intent) }),
      }));
      return { reply: ok({ object: 'list', data, has_more: hasMore, url: '/v1/disputes' }) };
    };
  }

  /** Events of the last 30 days, newest first, by `type` or `types`; each carries its object as it was when the event was created. */
  private planListEvents(params: Params): Work {
    const ofType = eventTypeFilter(params);
    const page = listPaging(params, 'event', this.webhooks.recorded, Math.floor(this.now() / 1000) - EVENT_RETENTION_SECONDS);
    return () => {
      const { items, hasMore } = page(({ event }) => ofType(event.type));
      return { reply: ok({ object: 'list', data: items.map(({ event }) => event), has_more: hasMore, url: '/v1/events' }) };
    };
  }

  private planRetrieveCharge(id: string): Work {
    const charge = this.findCharge(id);
    if (!charge) throw new RefusedRequest(resourceMissing('charge', id, 'id', 404));
    return () => ({ reply: ok(chargeObject(charge)) });
  }

  /** List: strongly consistent, newest first, cursor `starting_after`. */
  private planList(params: Params): Work {
    const page = listPaging(params, 'payment_intent', this.intents);
    return () => {
      const { items, hasMore } = page((stored) => params.customer === undefined || stored.intent.customer === params.customer);
      return {
        reply: ok({ object: 'list', data: items.map((stored) => snapshot(stored.intent)), has_more: hasMore, url: '/v1/payment_intents' }),
      };
    };
  }

  /** Search: what the index had `searchLagMs` ago, newest first; `page` is the last ID of the previous page. */
  private planSearch(params: Params): Work {
    const query = params.query;
    if (query === undefined) throw new RefusedRequest(invalidParam('query', 'Missing required param: query.', 'parameter_missing'));
    const matches = searchPredicates(query);
    const limit = limitParam(params);
    const page = params.page;
    return () => {
      const indexed = [...this.intents.values()]
        .reverse()
        .map((stored) => this.indexedVersion(stored))
        .filter((intent): intent is PaymentIntent => intent !== undefined && matches.every((match) => match(intent)));
      const start = page === undefined ? 0 : indexed.findIndex((intent) => intent.id === page) + 1;
      const rest = indexed.slice(start);
      const data = rest.slice(0, limit);
      const hasMore = rest.length > limit;
      return {
        reply: ok({
          object: 'search_result',
          data,
          has_more: hasMore,
          next_page: hasMore ? data.at(-1)!.id : null,
          url: '/v1/payment_intents/search',
        }),
      };
    };
  }

  /** The newest version of a PaymentIntent the search index has by now. */
  private indexedVersion(stored: StoredIntent): PaymentIntent | undefined {
    const visibleUntil = this.now() - this.searchLagMs;
    return [...stored.versions].reverse().find((version) => version.at <= visibleUntil)?.snapshot;
  }

  private storedIntent(id: string): StoredIntent {
    const stored = this.intents.get(id);
    if (!stored) throw new RefusedRequest(resourceMissing('payment_intent', id, 'intent', 404));
    return stored;
  }

  private createIntent(
    fields: Pick<
      PaymentIntent,
      | 'amount'
      | 'currency'
      | 'customer'
      | 'description'
      | 'metadata'
      | 'automatic_payment_methods'
      | 'payment_method_types'
      | 'payment_method'
    >,
  ): StoredIntent {
    const id = `pi_${randomBytes(12).toString('hex')}`;
    const intent: PaymentIntent = {
      id,
      object: 'payment_intent',
      ...fields,
      amount_capturable: 0,
      amount_received: 0,
      canceled_at: null,
      cancellation_reason: null,
      capture_method: 'automatic',
      client_secret: `${id}_secret_${randomBytes(12).toString('hex')}`,
      confirmation_method: 'automatic',
      created: Math.floor(this.now() / 1000),
      last_payment_error: null,
      latest_charge: null,
      livemode: false,
      next_action: null,
      status: fields.payment_method ? 'requires_confirmation' : 'requires_payment_method',
    };
    const stored: StoredIntent = { intent, versions: [] };
    this.intents.push(stored);
    this.index(stored);
    return stored;
  }

  /**
   * Charges the card: the PaymentIntent succeeds, or is declined back to requires_payment_method (402).
   * A card that needs its holder is declined off session (authentication_required, as Stripe does for
   * a saved card) and waits in requires_action on session.
   */
  private confirmIntent(stored: StoredIntent, { paymentMethod, offSession, idempotencyKey }: Confirmation): Execution {
    const customer = stored.intent.customer;
    if (needsCardHolder(customer, paymentMethod)) {
      const execution = offSession
        ? this.decline(stored, paymentMethod, 'authentication_required', idempotencyKey)
        : this.requireAction(stored, paymentMethod);
      this.expectCardHolder(stored);
      return execution;
    }
    const declineCode = customerDeclineCode(customer ?? '') ?? DECLINING_PAYMENT_METHODS[paymentMethod];
    if (declineCode) return this.decline(stored, paymentMethod, declineCode, idempotencyKey);
    const processing = PROCESSING_CUSTOMER.exec(customer ?? '');
    if (processing)
      return { reply: ok(this.process(stored, paymentMethod, Number(processing[1] ?? DEFAULT_PROCESSING_SECONDS))), paidBy: customer };
    return { reply: ok(this.succeed(stored, paymentMethod, idempotencyKey)), paidBy: customer };
  }

  /** cus_processing[_<s>]: Stripe takes the payment but decides <s> seconds (real time) later; then it succeeds. */
  private process(stored: StoredIntent, paymentMethod: string, seconds: number): PaymentIntent {
    this.update(stored, { status: 'processing', payment_method: paymentMethod, last_payment_error: null, next_action: null });
    const { signal } = this.closing;
    void wait(seconds * 1000, signal).done.then(() => {
      if (!signal.aborted && stored.intent.status === 'processing') this.succeed(stored, paymentMethod, undefined);
    });
    return snapshot(stored.intent);
  }

  /** The card pays: a succeeded charge, the PaymentIntent succeeded. Returns the PaymentIntent as it now is. */
  private succeed(stored: StoredIntent, paymentMethod: string, idempotencyKey: string | undefined): PaymentIntent {
    const charge = this.recordIntentCharge(stored.intent, idempotencyKey, undefined);
    this.update(stored, {
      status: 'succeeded',
      payment_method: paymentMethod,
      amount_received: stored.intent.amount,
      latest_charge: charge.id,
      last_payment_error: null,
      next_action: null,
    });
    this.emitIntentEvent('payment_intent.succeeded', stored.intent, idempotencyKey);
    return snapshot(stored.intent);
  }

  /** A decline: a failed charge, the PaymentIntent back in requires_payment_method without its payment method, a 402. */
  private decline(stored: StoredIntent, paymentMethod: string, declineCode: string, idempotencyKey: string | undefined): Execution {
    const { intent } = stored;
    const charge = this.recordIntentCharge(intent, idempotencyKey, declineCode);
    const error = cardError(declineCode, charge.id);
    this.update(stored, {
      status: 'requires_payment_method',
      payment_method: null,
      latest_charge: charge.id,
      last_payment_error: { ...error, payment_method: card(paymentMethod) },
    });
    this.emitIntentEvent('payment_intent.payment_failed', intent, idempotencyKey);
    return { reply: { status: 402, body: { error: { ...error, payment_intent: snapshot(intent) } } }, paidBy: intent.customer };
  }

  /** On session, the bank asks the holder to authenticate before anything is charged. */
  private requireAction(stored: StoredIntent, paymentMethod: string): Execution {
    this.update(stored, {
      status: 'requires_action',
      payment_method: paymentMethod,
      next_action: { type: 'use_stripe_sdk', use_stripe_sdk: { type: 'three_d_secure_redirect' } },
    });
    return { reply: ok(snapshot(stored.intent)), paidBy: stored.intent.customer };
  }

  /** The holder did not authenticate: the bank refused before any charge; the PaymentIntent needs a payment method again. */
  private failAuthentication(stored: StoredIntent, paymentMethod: string): void {
    this.update(stored, {
      status: 'requires_payment_method',
      payment_method: null,
      next_action: null,
      last_payment_error: { ...AUTHENTICATION_FAILURE, payment_method: card(paymentMethod) },
    });
    this.emitIntentEvent('payment_intent.payment_failed', stored.intent, undefined);
  }

  /** cus_authenticate_completes[_<s>]: the holder comes back by themselves <s> seconds (real time) later. */
  private expectCardHolder(stored: StoredIntent): void {
    const completes = SELF_AUTHENTICATING_CUSTOMER.exec(stored.intent.customer ?? '');
    if (!completes) return;
    const { signal } = this.closing;
    void wait(Number(completes[1] ?? DEFAULT_AUTHENTICATION_SECONDS) * 1000, signal).done.then(() => {
      if (!signal.aborted) this.completeCustomerAction(stored.intent.id, 'succeeds');
    });
  }

  private emitIntentEvent(type: StripeEventType, intent: PaymentIntent, idempotencyKey: string | undefined): void {
    this.webhooks.emit(type, snapshot(intent), this.eventSubject(intent, idempotencyKey));
  }

  private eventSubject(intent: PaymentIntent, idempotencyKey: string | undefined): EventSubject {
    return { paymentIntentId: intent.id, orderId: intent.metadata.order_id, idempotencyKey, created: Math.floor(this.now() / 1000) };
  }

  private update(stored: StoredIntent, changes: Partial<PaymentIntent>): void {
    Object.assign(stored.intent, changes);
    this.index(stored);
  }

  /** Hands the current version to the search index, where it shows `searchLagMs` later. */
  private index(stored: StoredIntent): void {
    stored.versions.push({ at: this.now(), snapshot: snapshot(stored.intent) });
  }

  /** A charge of the PaymentIntent, carrying its metadata (order_id included) as Stripe copies it. */
  private recordIntentCharge(intent: PaymentIntent, idempotencyKey: string | undefined, declineCode: string | undefined): RecordedCharge {
    const { amount, currency, customer, description, metadata } = intent;
    return this.recordCharge(
      {
        amount,
        currency,
        customer,
        orderId: metadata.order_id,
        idempotencyKey,
        paymentIntentId: intent.id,
        description,
        metadata: { ...metadata },
      },
      declineCode,
    );
  }

  private recordCharge(
    fields: Omit<RecordedCharge, 'id' | 'status' | 'declineCode' | 'amountRefunded' | 'created'>,
    declineCode: string | undefined,
  ): RecordedCharge {
    const charge: RecordedCharge = {
      id: `ch_${randomBytes(12).toString('hex')}`,
      ...fields,
      status: declineCode ? 'failed' : 'succeeded',
      ...(declineCode !== undefined && { declineCode }),
      amountRefunded: 0,
      created: Math.floor(this.now() / 1000),
    };
    this.chargeList.push(charge);
    return charge;
  }

  private findCharge(id: string): RecordedCharge | undefined {
    return this.chargeList.get(id);
  }

  /** Sends the request to stripe-mock too, and records it if stripe-mock refuses it or does not answer. */
  private async checkSpec(request: StandInRequest, specUrl: string): Promise<void> {
    const headers: Record<string, string> = {};
    for (const name of ['content-type', 'authorization'] as const) {
      const value = request.headers[name];
      if (value) headers[name] = value;
    }
    let status = 0;
    let message: string;
    try {
      const response = await fetch(new URL(request.path, specUrl), {
        method: request.method,
        headers,
        ...(request.method !== 'GET' && request.method !== 'HEAD' && { body: request.body }),
      });
      status = response.status;
      message = errorMessageOf(await response.text());
    } catch (error) {
      message = `stripe-mock at ${specUrl} did not answer: ${(error as Error).message}`;
    }
    this.specChecked += 1;
    if (status === 0 || status === 400 || status === 404)
      this.specViolations.push({ method: request.method, path: request.path, status, message });
  }
}

function parseCall(request: StandInRequest): Call | undefined {
  const url = new URL(request.path, 'http://stripe.invalid');
  for (const route of ROUTES) {
    const match = route.path.exec(url.pathname);
    if (route.method !== request.method || !match) continue;
    const params = formParams(new URLSearchParams(request.method === 'POST' ? request.body : url.search));
    const idempotencyKey = request.method === 'POST' ? (request.headers['idempotency-key'] as string | undefined) : undefined;
    const fingerprint = createHash('sha256')
      .update(JSON.stringify([request.method, url.pathname, Object.entries(params).sort()]))
      .digest('hex');
    return { request, endpoint: route.endpoint(decodeURIComponent(match[1] ?? '')), params, idempotencyKey, fingerprint };
  }
  return undefined;
}

/** The request's parameters; an array sent as `types[]=a&types[]=b` is numbered as the SDK numbers it, `types[0]=a&types[1]=b`. */
function formParams(encoded: URLSearchParams): Params {
  const params: Params = {};
  const arrayLengths = new Map<string, number>();
  for (const [name, value] of encoded) {
    if (!name.endsWith('[]')) {
      params[name] = value;
      continue;
    }
    const array = name.slice(0, -2);
    const index = arrayLengths.get(array) ?? 0;
    arrayLengths.set(array, index + 1);
    params[`${array}[${index}]`] = value;
  }
  return params;
}

/** What `cus_fail_*` counts attempts by: the idempotency key, else the request itself. */
function attemptKey(call: Call, customer: string): string {
  return call.idempotencyKey ?? `${customer}:${call.fingerprint}`;
}

function withKeyEcho(reply: StandInReply, key: string | undefined): StandInReply {
  return key === undefined ? reply : { ...reply, headers: { ...reply.headers, 'idempotency-key': key } };
}

function ok(body: unknown): StandInReply {
  return { status: 200, body };
}

function snapshot(intent: PaymentIntent): PaymentIntent {
  return structuredClone(intent);
}

function isCustomerId(id: string): boolean {
  return /^cus_\w+$/.test(id);
}

/** Stripe's answer to a change of an object another request is changing: retry shortly. */
function lockTimeout(): StandInReply {
  return {
    status: 429,
    body: {
      error: {
        type: 'invalid_request_error',
        code: 'lock_timeout',
        message:
          'This object cannot be accessed right now because another API request or Stripe process is currently accessing it. If you see this error intermittently, retry the request.',
      },
    },
  };
}

function customerDeclineCode(customer: string): string | undefined {
  const decline = /^cus_decline(?:_(\w+))?$/.exec(customer);
  return decline ? (decline[1] ?? 'generic_decline') : undefined;
}

function cardError(declineCode: string, chargeId: string): CardError {
  return {
    type: 'card_error',
    code: OWN_CODE_DECLINES.has(declineCode) ? declineCode : 'card_declined',
    decline_code: declineCode,
    message: DECLINE_MESSAGES[declineCode] ?? 'Your card was declined.',
    charge: chargeId,
  };
}

/** A charge in Stripe's wire shape, legacy or a PaymentIntent's, with what refunds gave back. */
function chargeObject(charge: RecordedCharge): unknown {
  const succeeded = charge.status === 'succeeded';
  const failure = charge.declineCode === undefined ? undefined : cardError(charge.declineCode, charge.id);
  return {
    id: charge.id,
    object: 'charge',
    amount: charge.amount,
    amount_captured: succeeded ? charge.amount : 0,
    amount_refunded: charge.amountRefunded,
    captured: succeeded,
    created: charge.created,
    currency: charge.currency,
    customer: charge.customer,
    description: charge.description,
    disputed: charge.disputeId !== undefined,
    failure_code: failure?.code ?? null,
    failure_message: failure?.message ?? null,
    livemode: false,
    metadata: charge.metadata,
    paid: succeeded,
    payment_intent: charge.paymentIntentId ?? null,
    refunded: charge.amountRefunded === charge.amount,
    status: charge.status,
  };
}

function refundObject(refund: RecordedRefund): unknown {
  return {
    id: refund.id,
    object: 'refund',
    amount: refund.amount,
    charge: refund.chargeId,
    created: refund.created,
    currency: refund.currency,
    metadata: refund.metadata,
    payment_intent: refund.paymentIntentId,
    reason: refund.reason,
    status: refund.status,
    ...(refund.failureReason && { failure_reason: refund.failureReason }),
  };
}

function card(paymentMethod: string): { id: string; object: 'payment_method'; type: 'card' } {
  return { id: paymentMethod, object: 'payment_method', type: 'card' };
}

function needsCardHolder(customer: string | null, paymentMethod: string): boolean {
  return AUTHENTICATING_CUSTOMER.test(customer ?? '') || paymentMethod === AUTHENTICATING_PAYMENT_METHOD;
}

/** Waiting for its card holder: on session in requires_action, or declined off session for authentication. */
function awaitsCardHolder(intent: PaymentIntent): boolean {
  return (
    intent.status === 'requires_action' ||
    (intent.status === 'requires_payment_method' && intent.last_payment_error?.code === 'authentication_required')
  );
}

/** An amount as Stripe words it in messages: `$49.99`. */
function formatAmount(amount: number, currency: string): string {
  const format = new Intl.NumberFormat('en-US', { style: 'currency', currency: currency.toUpperCase() });
  return format.format(amount / 10 ** (format.resolvedOptions().maximumFractionDigits ?? 2));
}

// Validation: each helper returns the parameter's value or throws the refusal Stripe would answer.

function rejectUnknownParams(params: Params, accepted: readonly string[]): void {
  for (const name of Object.keys(params)) {
    const topLevel = name.split('[')[0];
    if (!accepted.includes(topLevel)) {
      const models = accepted.length > 0 ? accepted.join(', ') : 'none';
      throw new RefusedRequest(
        invalidParam(
          topLevel,
          `Received unknown parameter: ${topLevel} (the Stripe stand-in models these parameters here: ${models})`,
          'parameter_unknown',
        ),
      );
    }
  }
}

function integerParam(params: Params, name: string, min: number, max?: number): number | undefined {
  const raw = params[name];
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!/^-?\d+$/.test(raw)) throw new RefusedRequest(invalidParam(name, `Invalid integer: ${raw}`, 'parameter_invalid_integer'));
  if (value < min) throw new RefusedRequest(invalidParam(name, `This value must be greater than or equal to ${min}.`));
  if (max !== undefined && value > max) throw new RefusedRequest(invalidParam(name, `This value must be less than or equal to ${max}.`));
  return value;
}

function amountParam(params: Params): number {
  const amount = integerParam(params, 'amount', 1);
  if (amount === undefined) throw new RefusedRequest(invalidParam('amount', 'Missing required param: amount.', 'parameter_missing'));
  return amount;
}

function currencyParam(params: Params): string {
  const currency = params.currency;
  if (currency === undefined) throw new RefusedRequest(invalidParam('currency', 'Missing required param: currency.', 'parameter_missing'));
  if (!/^[a-zA-Z]{3}$/.test(currency)) throw new RefusedRequest(invalidParam('currency', `Invalid currency: ${currency}.`));
  return currency.toLowerCase();
}

/** A parameter that takes one of a few values, as `reason` and `cancellation_reason` do. */
function oneOfParam(params: Params, name: string, allowed: readonly string[]): string | undefined {
  const value = params[name];
  if (value !== undefined && !allowed.includes(value))
    throw new RefusedRequest(invalidParam(name, `Invalid ${name}: must be one of ${allowed.join(', ')}`));
  return value;
}

/**
 * A list's paging (`limit`, `created`, `starting_after`), checked when the request is planned: a cursor
 * that names no `object` of the list is refused. Then, newest first, the page of the objects that
 * `matches` keeps, and whether more follow; `oldestListed` (seconds) hides older objects, as Stripe's
 * 30 days of events.
 */
function listPaging<T>(params: Params, object: Parameters<typeof resourceMissing>[0], list: ListIndex<T>, oldestListed = 0) {
  const limit = limitParam(params);
  const requested = createdRange(params);
  const created: CreatedRange = {
    since: Math.max(requested.since, oldestListed),
    includes: (seconds) => seconds >= oldestListed && requested.includes(seconds),
  };
  const after = params.starting_after;
  if (after !== undefined && !list.has(after)) throw new RefusedRequest(resourceMissing(object, after, 'starting_after', 400));
  return (matches: (item: T) => boolean) => list.page({ after, limit, created, matches });
}

/** An array parameter (`expand[0]=...&expand[1]=...`), in order; undefined when absent. */
function arrayParam(params: Params, name: string): string[] | undefined {
  if (params[name] !== undefined) throw new RefusedRequest(invalidParam(name, `Invalid array: ${name} must be sent as ${name}[]=...`));
  const values: string[] = [];
  for (let value = params[`${name}[0]`]; value !== undefined; value = params[`${name}[${values.length}]`]) values.push(value);
  return values.length > 0 ? values : undefined;
}

/** `type` (one event type, or a group such as `charge.*`) or `types` (up to 20), as a test on an event's type. */
function eventTypeFilter(params: Params): (type: string) => boolean {
  const type = params.type;
  const types = arrayParam(params, 'types');
  if (type !== undefined && types !== undefined)
    throw new RefusedRequest(invalidParam('types', 'You may pass either type or types, but not both.'));
  if (types !== undefined) {
    if (types.length > MAX_EVENT_TYPES)
      throw new RefusedRequest(invalidParam('types', `types can have at most ${MAX_EVENT_TYPES} event types; it has ${types.length}.`));
    return (eventType) => types.includes(eventType);
  }
  if (type === undefined) return () => true;
  if (type.endsWith('*')) return (eventType) => eventType.startsWith(type.slice(0, -1));
  return (eventType) => eventType === type;
}

function limitParam(params: Params): number {
  return integerParam(params, 'limit', 1, 100) ?? 10;
}

function booleanParam(params: Params, name: string): boolean | undefined {
  const raw = params[name];
  if (raw === undefined) return undefined;
  if (raw !== 'true' && raw !== 'false') throw new RefusedRequest(invalidParam(name, `Invalid boolean: ${raw}`));
  return raw === 'true';
}

/** Any `pm_...` exists (Stripe's test payment methods are made on demand); anything else does not. */
function paymentMethodParam(params: Params): string | undefined {
  const id = params.payment_method;
  if (id !== undefined && !/^pm_\w+$/.test(id)) {
    throw new RefusedRequest({
      status: 400,
      body: {
        error: {
          type: 'invalid_request_error',
          code: 'resource_missing',
          param: 'payment_method',
          message: `No such PaymentMethod: '${id}'`,
        },
      },
    });
  }
  return id;
}

/** `metadata[key]=value`: at most 50 keys of up to 40 characters, values up to 500. */
function metadataParam(params: Params): Record<string, string> {
  const metadata: Record<string, string> = {};
  for (const [name, value = ''] of Object.entries(params)) {
    const key = /^metadata\[(.+)\]$/.exec(name)?.[1];
    if (key === undefined) continue;
    if (key.length > 40)
      throw new RefusedRequest(invalidParam(name, `Metadata keys can have up to 40 characters; '${key}' has ${key.length}.`));
    if (value.length > 500)
      throw new RefusedRequest(invalidParam(name, `Metadata values can have up to 500 characters; '${key}' has ${value.length}.`));
    metadata[key] = value;
  }
  if (Object.keys(metadata).length > 50) throw new RefusedRequest(invalidParam('metadata', 'Metadata can have up to 50 keys.'));
  return metadata;
}

/**
 * `allowed_payment_method_types[]`, the methods the PaymentIntent may use (the stand-in models cards
 * only), beside `automatic_payment_methods`; the answer's `payment_method_types` is what is left: cards.
 */
function paymentMethodTypesParams(params: Params): Pick<PaymentIntent, 'automatic_payment_methods' | 'payment_method_types'> {
  const automatic = automaticPaymentMethodsParam(params);
  const allowed = Object.entries(params)
    .filter(([name]) => /^allowed_payment_method_types\[\d*\]$/.test(name))
    .map(([, value]) => value ?? '');
  const unmodelled = allowed.find((type) => type !== 'card');
  if (unmodelled !== undefined) {
    throw new RefusedRequest(
      invalidParam('allowed_payment_method_types', `The Stripe stand-in models card payments only, not ${JSON.stringify(unmodelled)}.`),
    );
  }
  return { automatic_payment_methods: automatic, payment_method_types: ['card'] };
}

function automaticPaymentMethodsParam(params: Params): PaymentIntent['automatic_payment_methods'] {
  const enabled = booleanParam(params, 'automatic_payment_methods[enabled]');
  const allowRedirects = params['automatic_payment_methods[allow_redirects]'];
  if (enabled === undefined) {
    if (allowRedirects !== undefined)
      throw new RefusedRequest(
        invalidParam(
          'automatic_payment_methods[enabled]',
          'Missing required param: automatic_payment_methods[enabled].',
          'parameter_missing',
        ),
      );
    return null;
  }
  if (allowRedirects !== undefined && allowRedirects !== 'always' && allowRedirects !== 'never') {
    throw new RefusedRequest(
      invalidParam(
        'automatic_payment_methods[allow_redirects]',
        'Invalid automatic_payment_methods[allow_redirects]: must be one of always or never',
      ),
    );
  }
  return { enabled, ...(allowRedirects !== undefined && { allow_redirects: allowRedirects }) };
}

/** `created=<s>` or `created[gt|gte|lt|lte]=<s>`: the oldest second asked for, and a test on an object's `created`. */
function createdRange(params: Params): CreatedRange {
  const exact = integerParam(params, 'created', 0);
  const gt = integerParam(params, 'created[gt]', 0) ?? -Infinity;
  const gte = integerParam(params, 'created[gte]', 0) ?? -Infinity;
  const lt = integerParam(params, 'created[lt]', 0) ?? Infinity;
  const lte = integerParam(params, 'created[lte]', 0) ?? Infinity;
  return {
    since: Math.max(exact ?? -Infinity, gt + 1, gte),
    includes: (created) => (exact === undefined || created === exact) && created > gt && created >= gte && created < lt && created <= lte,
  };
}

/** One clause of a search query: `customer:'cus_x'`, `status:'succeeded'` or `metadata['key']:'value'`. */
const SEARCH_CLAUSE = /^(?:(customer|status)|metadata\[(['"])(.+?)\2\])\s*:\s*(['"])(.*)\4$/;

/** A search query's clauses (joined by AND) as tests on a PaymentIntent. */
function searchPredicates(query: string): Array<(intent: PaymentIntent) => boolean> {
  return query
    .trim()
    .split(/\s+AND\s+/)
    .map((clause) => {
      const match = SEARCH_CLAUSE.exec(clause.trim());
      if (!match) {
        throw new RefusedRequest(
          invalidParam(
            'query',
            `Invalid search query: ${query}. The Stripe stand-in supports customer:'…', status:'…' and metadata['…']:'…' clauses joined by AND.`,
          ),
        );
      }
      const [, field, , metadataKey, , value] = match;
      if (field === 'customer' || field === 'status') return (intent) => intent[field] === value;
      return (intent) => intent.metadata[metadataKey] === value;
    });
}

function invalidParam(param: string, message: string, code?: string): StandInReply {
  return { status: 400, body: { error: { type: 'invalid_request_error', ...(code && { code }), param, message } } };
}

/** Stripe's answer for an ID it does not know: 404 when it is the URL's, 400 when it is a parameter's. */
function resourceMissing(
  kind: 'customer' | 'payment_intent' | 'charge' | 'refund' | 'dispute' | 'event',
  id: string,
  param: string,
  status: 400 | 404,
): StandInReply {
  return {
    status,
    body: { error: { type: 'invalid_request_error', code: 'resource_missing', param, message: `No such ${kind}: '${id}'` } },
  };
}

/** Nothing paid to refund: the PaymentIntent has no succeeded charge, or the charge named failed. */
function nothingToRefund(chargeId: string | undefined): StandInReply {
  const message =
    chargeId === undefined
      ? 'This PaymentIntent does not have a successful charge to refund.'
      : `Charge ${chargeId} has not succeeded, so there is nothing to refund.`;
  return {
    status: 400,
    body: {
      error: {
        type: 'invalid_request_error',
        code: 'charge_not_refundable',
        param: chargeId === undefined ? 'payment_intent' : 'charge',
        message,
      },
    },
  };
}

function alreadyRefunded(chargeId: string): StandInReply {
  return {
    status: 400,
    body: {
      error: { type: 'invalid_request_error', code: 'charge_already_refunded', message: `Charge ${chargeId} has already been refunded.` },
    },
  };
}

function refundTooLarge(amount: number, unrefunded: number, currency: string): StandInReply {
  const message = `Refund amount (${formatAmount(amount, currency)}) is greater than unrefunded amount on charge (${formatAmount(unrefunded, currency)})`;
  return invalidParam('amount', message, 'amount_too_large');
}

function missingPaymentMethod(customer: string | null): StandInReply {
  const advice = customer
    ? `To confirm the PaymentIntent with ${customer}, specify a payment method attached to this customer along with the customer ID.`
    : 'You can either update the PaymentIntent with a payment method and then confirm it again, or confirm it again directly with a payment method.';
  return unexpectedStateError(`You cannot confirm this PaymentIntent because it's missing a payment method. ${advice}`);
}

/** Stripe's refusal of an action the PaymentIntent's state does not allow, with the PaymentIntent when it shows it. */
function unexpectedStateError(message: string, intent?: PaymentIntent): StandInReply {
  return {
    status: 400,
    body: {
      error: {
        type: 'invalid_request_error',
        code: 'payment_intent_unexpected_state',
        message,
        ...(intent && { payment_intent: snapshot(intent) }),
      },
    },
  };
}

function unexpectedState(action: 'confirm' | 'cancel', intent: PaymentIntent): StandInReply {
  const allowed =
    action === 'confirm'
      ? 'requires_payment_method, requires_confirmation, requires_action'
      : 'requires_payment_method, requires_capture, requires_confirmation, requires_action, processing';
  const verb = action === 'confirm' ? 'confirmed' : 'canceled';
  return unexpectedStateError(
    `You cannot ${action} this PaymentIntent because it has a status of ${intent.status}. Only a PaymentIntent with one of the following statuses may be ${verb}: ${allowed}.`,
    intent,
  );
}

function idempotencyError(status: 400 | 409, message: string, code?: string): StandInReply {
  return { status, body: { error: { type: 'idempotency_error', ...(code && { code }), message } } };
}

/** The message of a Stripe error body, or the body itself. */
function errorMessageOf(text: string): string {
  try {
    return (JSON.parse(text) as { error?: { message?: string } }).error?.message ?? text;
  } catch {
    return text;
  }
}
