import { createHash, randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { bearerToken, StandIn, type StandInReply, type StandInRequest } from './stand-in.js';

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
}

export type PaymentIntentStatus =
  | 'requires_payment_method'
  | 'requires_confirmation'
  | 'requires_action'
  | 'processing'
  | 'succeeded'
  | 'canceled';

/** A card error as Stripe reports it: in a 402 answer, and in a PaymentIntent's `last_payment_error`. */
export interface CardError {
  type: 'card_error';
  code: string;
  decline_code: string;
  message: string;
  charge: string;
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
  last_payment_error: (CardError & { payment_method: { id: string; object: 'payment_method'; type: 'card' } }) | null;
  latest_charge: string | null;
  livemode: false;
  metadata: Record<string, string>;
  next_action: null;
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
  | { name: 'searchIntents' };

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

/** The endpoint's work, planned once the request passed validation. */
type Work = () => Execution;

type KeyRecord =
  | { fingerprint: string; state: 'executing' }
  | { fingerprint: string; state: 'stored'; reply: StandInReply; storedAt: number };

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
};

/** Declines Stripe reports under an error code of their own rather than `card_declined`. */
const OWN_CODE_DECLINES = new Set(['expired_card', 'incorrect_cvc', 'processing_error']);

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
  createIntent: ['amount', 'currency', 'customer', 'payment_method', 'confirm', 'off_session', 'description', 'metadata', 'automatic_payment_methods'],
  retrieveIntent: [],
  confirmIntent: ['payment_method', 'off_session'],
  cancelIntent: ['cancellation_reason'],
  listIntents: ['customer', 'created', 'limit', 'starting_after'],
  searchIntents: ['query', 'limit', 'page'],
};

/** Endpoints that charge, or may charge, a card: the ones `cus_fail_*` fails. */
const PAYMENT_ENDPOINTS = new Set<EndpointName>(['createCharge', 'createIntent', 'confirmIntent']);

const CONFIRMABLE = new Set<PaymentIntentStatus>(['requires_payment_method', 'requires_confirmation']);
const CANCELABLE = new Set<PaymentIntentStatus>(['requires_payment_method', 'requires_confirmation', 'requires_action', 'processing']);
const CANCELLATION_REASONS = ['duplicate', 'fraudulent', 'requested_by_customer', 'abandoned'];

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
];

/**
 * A stand-in for the Stripe API as strict as Stripe: customers, PaymentIntents (create, confirm,
 * retrieve, list, search, cancel) and the legacy `POST /v1/charges`, in Stripe's wire format
 * (form-encoded requests, JSON answers, Stripe error bodies, 402 for declines), with Stripe's
 * idempotency rules: a POST whose endpoint began executing stores its answer (500s included) under
 * its Idempotency-Key and replays it for 24 h with `Idempotent-Replayed: true`; the same key with
 * other parameters is an idempotency_error; a key whose request is still executing gets 409;
 * refusals before executing (validation, 401, 404, injected faults) store nothing. Search lags
 * `searchLagMs` behind the truth; list and retrieve do not. Time is the stand-in's clock (`now`,
 * `advanceClock`).
 *
 * Magic customer IDs (every `cus_...` exists):
 *   cus_<anything else>           default payment method pm_card_visa; payments succeed
 *   cus_no_payment_method         no default payment method: the caller must name one
 *   cus_decline[_<decline_code>]  confirmations are declined (402), e.g. cus_decline_insufficient_funds
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
 *                                 (default 25); the key is in use (409) meanwhile
 * Declining test payment methods: pm_card_chargeDeclined, pm_card_chargeDeclinedInsufficientFunds,
 * pm_card_chargeDeclinedExpiredCard (and ...LostCard, ...StolenCard, ...IncorrectCvc,
 * ...ProcessingError). Any other `pm_...` is a card that pays.
 */
export class StripeStandIn extends StandIn {
  readonly charges: RecordedCharge[] = [];
  /** How long after a change a PaymentIntent's new state is found by search. */
  searchLagMs = 60_000;
  /** Requests stripe-mock refused (400, 404) or could not check, once `checkSpecAgainst` was called. */
  readonly specViolations: SpecViolation[] = [];
  /** Requests sent to stripe-mock for checking. */
  specChecked = 0;
  private specUrl: string | undefined;
  private clockOffsetMs = 0;
  private readonly openedAt = Date.now();
  private readonly intents = new Map<string, StoredIntent>();
  private readonly keys = new Map<string, KeyRecord>();
  /** Requests that executed under a key, so a fault after handling can replace the stored answer. */
  private readonly executedUnderKey = new WeakMap<StandInRequest, { key: string; fingerprint: string }>();
  private readonly failedAttempts = new Map<string, number>();
  private readonly downSince = new Map<string, number>();

  constructor() {
    super('Stripe');
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

  /** Every PaymentIntent, oldest first, as it is now. */
  get paymentIntents(): readonly PaymentIntent[] {
    return [...this.intents.values()].map((stored) => stored.intent);
  }

  /** PaymentIntents for one order (by metadata.order_id), oldest first. */
  paymentIntentsFor(orderId: string): PaymentIntent[] {
    return this.paymentIntents.filter((intent) => intent.metadata.order_id === orderId);
  }

  /** Successful charges for one order (by metadata.order_id), legacy and PaymentIntent alike. */
  successfulCharges(orderId: string): RecordedCharge[] {
    return this.charges.filter((charge) => charge.orderId === orderId && charge.status === 'succeeded');
  }

  protected errorBody(status: number): unknown {
    if (status === 429) return { error: { type: 'invalid_request_error', code: 'rate_limit', message: 'Too many requests hit the API too quickly.' } };
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
      return { status: 404, body: { error: { type: 'invalid_request_error', message: `Unrecognized request URL (${request.method}: ${request.path}).` } } };
    }
    const reply = this.outage(call) ?? (request.method === 'POST' ? await this.post(call) : this.get(call));
    return withKeyEcho(reply, call.idempotencyKey);
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
    const execution = key === undefined ? await this.execute(work) : await this.executeUnderKey(work, call, key);
    // cus_lost_after_charge: the answer of an execution never arrives; a replay (of the stored answer) does.
    return execution.paidBy === 'cus_lost_after_charge' ? { ...execution.reply, dropConnection: true } : execution.reply;
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
        return this.planCancelIntent(endpoint.id, params);
      case 'listIntents':
        return this.planList(params);
      case 'searchIntents':
        return this.planSearch(params);
    }
  }

  private planCustomer(id: string): Work {
    if (!isCustomerId(id)) throw new RefusedRequest(noSuchCustomer(id, 'id', 404));
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
    return () => {
      const declineCode = customerDeclineCode(customer);
      const charge = this.recordCharge({ amount, currency, customer, orderId: metadata.order_id, idempotencyKey }, declineCode);
      if (declineCode) return { reply: { status: 402, body: { error: cardError(declineCode, charge.id) } }, paidBy: customer };
      return { reply: ok(legacyChargeObject(charge, params.description ?? null, metadata, this.now())), paidBy: customer };
    };
  }

  private planCreateIntent(params: Params, idempotencyKey: string | undefined): Work {
    const amount = amountParam(params);
    const currency = currencyParam(params);
    const customer = params.customer ?? null;
    if (customer !== null && !isCustomerId(customer)) throw new RefusedRequest(noSuchCustomer(customer, 'customer', 400));
    const paymentMethod = paymentMethodParam(params);
    const confirm = booleanParam(params, 'confirm') ?? false;
    const offSession = booleanParam(params, 'off_session');
    if (offSession !== undefined && !confirm) throw new RefusedRequest(invalidParam('off_session', 'off_session can only be used when confirm=true.'));
    if (confirm && !paymentMethod) throw new RefusedRequest(missingPaymentMethod(customer));
    const fields = {
      amount,
      currency,
      customer,
      description: params.description ?? null,
      metadata: metadataParam(params),
      automatic_payment_methods: automaticPaymentMethodsParam(params),
      payment_method: paymentMethod ?? null,
    };
    return () => {
      const stored = this.createIntent(fields);
      if (confirm && paymentMethod) return this.confirmIntent(stored, paymentMethod, idempotencyKey);
      return { reply: ok(snapshot(stored.intent)) };
    };
  }

  private planConfirmIntent(id: string, params: Params, idempotencyKey: string | undefined): Work {
    const stored = this.storedIntent(id);
    const namedPaymentMethod = paymentMethodParam(params);
    // Validated only: a card that needs no authentication pays the same on or off session.
    booleanParam(params, 'off_session');
    return () => {
      if (!CONFIRMABLE.has(stored.intent.status)) return { reply: unexpectedState('confirm', stored.intent) };
      const paymentMethod = namedPaymentMethod ?? stored.intent.payment_method;
      if (!paymentMethod) return { reply: missingPaymentMethod(stored.intent.customer) };
      return this.confirmIntent(stored, paymentMethod, idempotencyKey);
    };
  }

  private planCancelIntent(id: string, params: Params): Work {
    const stored = this.storedIntent(id);
    const reason = params.cancellation_reason;
    if (reason !== undefined && !CANCELLATION_REASONS.includes(reason)) {
      throw new RefusedRequest(invalidParam('cancellation_reason', `Invalid cancellation_reason: must be one of ${CANCELLATION_REASONS.join(', ')}`));
    }
    return () => {
      if (!CANCELABLE.has(stored.intent.status)) return { reply: unexpectedState('cancel', stored.intent) };
      this.update(stored, { status: 'canceled', canceled_at: Math.floor(this.now() / 1000), cancellation_reason: reason ?? null });
      return { reply: ok(snapshot(stored.intent)) };
    };
  }

  /** List: strongly consistent, newest first, cursor `starting_after`. */
  private planList(params: Params): Work {
    const limit = limitParam(params);
    const inCreatedRange = createdFilter(params);
    const after = params.starting_after;
    if (after !== undefined && !this.intents.has(after)) throw new RefusedRequest(noSuchPaymentIntent(after, 'starting_after', 400));
    return () => {
      const newestFirst = [...this.intents.values()].map((stored) => stored.intent).reverse();
      const matching = newestFirst
        .slice(after === undefined ? 0 : newestFirst.findIndex((intent) => intent.id === after) + 1)
        .filter((intent) => (params.customer === undefined || intent.customer === params.customer) && inCreatedRange(intent.created));
      const data = matching.slice(0, limit).map(snapshot);
      return { reply: ok({ object: 'list', data, has_more: matching.length > limit, url: '/v1/payment_intents' }) };
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
        reply: ok({ object: 'search_result', data, has_more: hasMore, next_page: hasMore ? data.at(-1)!.id : null, url: '/v1/payment_intents/search' }),
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
    if (!stored) throw new RefusedRequest(noSuchPaymentIntent(id, 'intent', 404));
    return stored;
  }

  private createIntent(
    fields: Pick<PaymentIntent, 'amount' | 'currency' | 'customer' | 'description' | 'metadata' | 'automatic_payment_methods' | 'payment_method'>,
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
      payment_method_types: ['card'],
      status: fields.payment_method ? 'requires_confirmation' : 'requires_payment_method',
    };
    const stored: StoredIntent = { intent, versions: [] };
    this.intents.set(id, stored);
    this.index(stored);
    return stored;
  }

  /** Charges the card: the PaymentIntent succeeds, or is declined back to requires_payment_method (402). */
  private confirmIntent(stored: StoredIntent, paymentMethod: string, idempotencyKey: string | undefined): Execution {
    const { intent } = stored;
    const declineCode = customerDeclineCode(intent.customer ?? '') ?? DECLINING_PAYMENT_METHODS[paymentMethod];
    const charge = this.recordCharge(
      { amount: intent.amount, currency: intent.currency, customer: intent.customer, orderId: intent.metadata.order_id, idempotencyKey, paymentIntentId: intent.id },
      declineCode,
    );
    if (declineCode) {
      const error = cardError(declineCode, charge.id);
      this.update(stored, {
        status: 'requires_payment_method',
        payment_method: null,
        latest_charge: charge.id,
        last_payment_error: { ...error, payment_method: { id: paymentMethod, object: 'payment_method', type: 'card' } },
      });
      return { reply: { status: 402, body: { error: { ...error, payment_intent: snapshot(intent) } } }, paidBy: intent.customer };
    }
    this.update(stored, { status: 'succeeded', payment_method: paymentMethod, amount_received: intent.amount, latest_charge: charge.id, last_payment_error: null });
    return { reply: ok(snapshot(intent)), paidBy: intent.customer };
  }

  private update(stored: StoredIntent, changes: Partial<PaymentIntent>): void {
    Object.assign(stored.intent, changes);
    this.index(stored);
  }

  /** Hands the current version to the search index, where it shows `searchLagMs` later. */
  private index(stored: StoredIntent): void {
    stored.versions.push({ at: this.now(), snapshot: snapshot(stored.intent) });
  }

  private recordCharge(fields: Omit<RecordedCharge, 'id' | 'status'>, declineCode: string | undefined): RecordedCharge {
    const charge: RecordedCharge = {
      id: `ch_${randomBytes(12).toString('hex')}`,
      ...fields,
      status: declineCode ? 'failed' : 'succeeded',
    };
    this.charges.push(charge);
    return charge;
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
    if (status === 0 || status === 400 || status === 404) this.specViolations.push({ method: request.method, path: request.path, status, message });
  }
}

function parseCall(request: StandInRequest): Call | undefined {
  const url = new URL(request.path, 'http://stripe.invalid');
  for (const route of ROUTES) {
    const match = route.path.exec(url.pathname);
    if (route.method !== request.method || !match) continue;
    const params: Params = Object.fromEntries(new URLSearchParams(request.method === 'POST' ? request.body : url.search));
    const idempotencyKey = request.method === 'POST' ? (request.headers['idempotency-key'] as string | undefined) : undefined;
    const fingerprint = createHash('sha256')
      .update(JSON.stringify([request.method, url.pathname, Object.entries(params).sort()]))
      .digest('hex');
    return { request, endpoint: route.endpoint(decodeURIComponent(match[1] ?? '')), params, idempotencyKey, fingerprint };
  }
  return undefined;
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

function customerDeclineCode(customer: string): string | undefined {
  const decline = /^cus_decline(?:_(\w+))?$/.exec(customer);
  return decline ? decline[1] ?? 'generic_decline' : undefined;
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

function legacyChargeObject(charge: RecordedCharge, description: string | null, metadata: Record<string, string>, now: number): unknown {
  return {
    id: charge.id,
    object: 'charge',
    amount: charge.amount,
    amount_captured: charge.amount,
    amount_refunded: 0,
    captured: true,
    created: Math.floor(now / 1000),
    currency: charge.currency,
    customer: charge.customer,
    description,
    failure_code: null,
    failure_message: null,
    livemode: false,
    metadata,
    paid: true,
    refunded: false,
    status: 'succeeded',
  };
}

// Validation: each helper returns the parameter's value or throws the refusal Stripe would answer.

function rejectUnknownParams(params: Params, accepted: readonly string[]): void {
  for (const name of Object.keys(params)) {
    const topLevel = name.split('[')[0]!;
    if (!accepted.includes(topLevel)) {
      const models = accepted.length > 0 ? accepted.join(', ') : 'none';
      throw new RefusedRequest(
        invalidParam(topLevel, `Received unknown parameter: ${topLevel} (the Stripe stand-in models these parameters here: ${models})`, 'parameter_unknown'),
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
      body: { error: { type: 'invalid_request_error', code: 'resource_missing', param: 'payment_method', message: `No such PaymentMethod: '${id}'` } },
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
    if (key.length > 40) throw new RefusedRequest(invalidParam(name, `Metadata keys can have up to 40 characters; '${key}' has ${key.length}.`));
    if (value.length > 500) throw new RefusedRequest(invalidParam(name, `Metadata values can have up to 500 characters; '${key}' has ${value.length}.`));
    metadata[key] = value;
  }
  if (Object.keys(metadata).length > 50) throw new RefusedRequest(invalidParam('metadata', 'Metadata can have up to 50 keys.'));
  return metadata;
}

function automaticPaymentMethodsParam(params: Params): PaymentIntent['automatic_payment_methods'] {
  const enabled = booleanParam(params, 'automatic_payment_methods[enabled]');
  const allowRedirects = params['automatic_payment_methods[allow_redirects]'];
  if (enabled === undefined) {
    if (allowRedirects !== undefined) throw new RefusedRequest(invalidParam('automatic_payment_methods[enabled]', 'Missing required param: automatic_payment_methods[enabled].', 'parameter_missing'));
    return null;
  }
  if (allowRedirects !== undefined && allowRedirects !== 'always' && allowRedirects !== 'never') {
    throw new RefusedRequest(invalidParam('automatic_payment_methods[allow_redirects]', 'Invalid automatic_payment_methods[allow_redirects]: must be one of always or never'));
  }
  return { enabled, ...(allowRedirects !== undefined && { allow_redirects: allowRedirects }) };
}

/** `created=<s>` or `created[gt|gte|lt|lte]=<s>`, as a test on a PaymentIntent's `created`. */
function createdFilter(params: Params): (created: number) => boolean {
  const exact = integerParam(params, 'created', 0);
  const gt = integerParam(params, 'created[gt]', 0) ?? -Infinity;
  const gte = integerParam(params, 'created[gte]', 0) ?? -Infinity;
  const lt = integerParam(params, 'created[lt]', 0) ?? Infinity;
  const lte = integerParam(params, 'created[lte]', 0) ?? Infinity;
  return (created) => (exact === undefined || created === exact) && created > gt && created >= gte && created < lt && created <= lte;
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
          invalidParam('query', `Invalid search query: ${query}. The Stripe stand-in supports customer:'…', status:'…' and metadata['…']:'…' clauses joined by AND.`),
        );
      }
      const [, field, , metadataKey, , value] = match;
      if (field === 'customer' || field === 'status') return (intent) => intent[field] === value;
      return (intent) => intent.metadata[metadataKey!] === value;
    });
}

function invalidParam(param: string, message: string, code?: string): StandInReply {
  return { status: 400, body: { error: { type: 'invalid_request_error', ...(code && { code }), param, message } } };
}

function noSuchCustomer(id: string, param: string, status: 400 | 404): StandInReply {
  return { status, body: { error: { type: 'invalid_request_error', code: 'resource_missing', param, message: `No such customer: '${id}'` } } };
}

function noSuchPaymentIntent(id: string, param: string, status: 400 | 404): StandInReply {
  return { status, body: { error: { type: 'invalid_request_error', code: 'resource_missing', param, message: `No such payment_intent: '${id}'` } } };
}

function missingPaymentMethod(customer: string | null): StandInReply {
  const advice = customer
    ? `To confirm the PaymentIntent with ${customer}, specify a payment method attached to this customer along with the customer ID.`
    : 'You can either update the PaymentIntent with a payment method and then confirm it again, or confirm it again directly with a payment method.';
  return {
    status: 400,
    body: {
      error: {
        type: 'invalid_request_error',
        code: 'payment_intent_unexpected_state',
        message: `You cannot confirm this PaymentIntent because it's missing a payment method. ${advice}`,
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
  return {
    status: 400,
    body: {
      error: {
        type: 'invalid_request_error',
        code: 'payment_intent_unexpected_state',
        message: `You cannot ${action} this PaymentIntent because it has a status of ${intent.status}. Only a PaymentIntent with one of the following statuses may be ${verb}: ${allowed}.`,
        payment_intent: snapshot(intent),
      },
    },
  };
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
