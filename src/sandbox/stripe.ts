import { createHash, randomBytes } from 'node:crypto';
import { bearerToken, StandIn, type StandInReply, type StandInRequest } from './stand-in.js';

/** A charge the stand-in created, successful or declined. */
export interface RecordedCharge {
  id: string;
  amount: number;
  currency: string;
  customer: string;
  orderId?: string;
  idempotencyKey?: string;
  status: 'succeeded' | 'failed';
}

interface StoredResult {
  paramsHash: string;
  reply: StandInReply;
}

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

/**
 * A stand-in for the Stripe API's `POST /v1/charges`, speaking its wire format (form-encoded
 * requests, Stripe error bodies, 402 for declines) and honouring idempotency keys as Stripe does:
 * the same key with the same parameters replays the first result; with other parameters it is an
 * idempotency_error. Magic customer IDs:
 *   cus_decline[_<decline_code>]  the card is declined (402), e.g. cus_decline_insufficient_funds
 *   cus_fail_<status>[_x<N>]      answer <status> (500, 503, 429) to the first N attempts of each
 *                                 idempotency key (every attempt without _xN), then charge normally
 */
export class StripeStandIn extends StandIn {
  readonly charges: RecordedCharge[] = [];
  private readonly idempotentResults = new Map<string, StoredResult>();
  private readonly attemptsByKey = new Map<string, number>();

  constructor() {
    super('Stripe');
  }

  /** Successful charges for one order (by metadata.order_id). */
  successfulCharges(orderId: string): RecordedCharge[] {
    return this.charges.filter((charge) => charge.orderId === orderId && charge.status === 'succeeded');
  }

  protected errorBody(status: number): unknown {
    if (status === 429) return { error: { type: 'invalid_request_error', code: 'rate_limit', message: 'Too many requests hit the API too quickly.' } };
    if (status >= 500) return { error: { type: 'api_error', message: 'An unknown error occurred on our servers.' } };
    return { error: { type: 'invalid_request_error', message: `Injected ${status} error.` } };
  }

  protected handle(request: StandInRequest): StandInReply {
    const token = bearerToken(request.headers);
    if (!token || !/^(sk|rk)_test_/.test(token)) {
      return {
        status: 401,
        body: { error: { type: 'invalid_request_error', message: `Invalid API Key provided: ${(token ?? '').slice(0, 8)}****` } },
      };
    }
    if (request.method !== 'POST' || request.path !== '/v1/charges') {
      return { status: 404, body: { error: { type: 'invalid_request_error', message: `Unrecognized request URL (${request.method}: ${request.path}).` } } };
    }
    const params = Object.fromEntries(new URLSearchParams(request.body));
    const idempotencyKey = request.headers['idempotency-key'] as string | undefined;
    const paramsHash = createHash('sha256').update(JSON.stringify(Object.entries(params).sort())).digest('hex');

    if (idempotencyKey) {
      const stored = this.idempotentResults.get(idempotencyKey);
      if (stored && stored.paramsHash !== paramsHash) {
        return {
          status: 400,
          body: {
            error: {
              type: 'idempotency_error',
              message: `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${idempotencyKey}' if you meant to execute a different request.`,
            },
          },
        };
      }
      if (stored) return { ...stored.reply, headers: { ...stored.reply.headers, 'idempotent-replayed': 'true' } };
    }

    const failure = /^cus_fail_(\d{3})(?:_x(\d+))?$/.exec(params.customer ?? '');
    if (failure) {
      const attemptKey = idempotencyKey ?? `${params.customer}:${paramsHash}`;
      const attempt = (this.attemptsByKey.get(attemptKey) ?? 0) + 1;
      this.attemptsByKey.set(attemptKey, attempt);
      if (failure[2] === undefined || attempt <= Number(failure[2])) {
        // Failed before executing: like Stripe, nothing is stored for the idempotency key.
        const status = Number(failure[1]);
        return { status, body: this.errorBody(status) };
      }
    }

    const reply = this.createCharge(params, idempotencyKey);
    if (idempotencyKey && reply.status !== 400) this.idempotentResults.set(idempotencyKey, { paramsHash, reply });
    return { ...reply, headers: { ...reply.headers, ...(idempotencyKey && { 'idempotency-key': idempotencyKey }) } };
  }

  private createCharge(params: Record<string, string>, idempotencyKey: string | undefined): StandInReply {
    const amount = Number(params.amount);
    if (!Number.isInteger(amount) || amount < 1) return invalidParam('amount', 'Invalid positive integer');
    if (!/^[a-z]{3}$/.test(params.currency ?? '')) return invalidParam('currency', 'Invalid currency');
    if (!params.customer) return invalidParam('customer', 'Must provide source or customer.');

    const decline = /^cus_decline(?:_(\w+))?$/.exec(params.customer);
    const declineCode = decline ? decline[1] ?? 'generic_decline' : undefined;
    const id = `ch_${randomBytes(12).toString('hex')}`;
    const charge: RecordedCharge = {
      id,
      amount,
      currency: params.currency!,
      customer: params.customer,
      orderId: params['metadata[order_id]'],
      idempotencyKey,
      status: declineCode ? 'failed' : 'succeeded',
    };
    this.charges.push(charge);

    if (declineCode) {
      const message = DECLINE_MESSAGES[declineCode] ?? 'Your card was declined.';
      return {
        status: 402,
        body: { error: { type: 'card_error', code: 'card_declined', decline_code: declineCode, message, charge: id } },
      };
    }
    return {
      status: 200,
      body: {
        id,
        object: 'charge',
        amount,
        amount_captured: amount,
        amount_refunded: 0,
        captured: true,
        created: Math.floor(Date.now() / 1000),
        currency: charge.currency,
        customer: charge.customer,
        description: params.description ?? null,
        failure_code: null,
        failure_message: null,
        livemode: false,
        metadata: Object.fromEntries(
          Object.entries(params)
            .filter(([key]) => key.startsWith('metadata['))
            .map(([key, value]) => [key.slice('metadata['.length, -1), value]),
        ),
        paid: true,
        refunded: false,
        status: 'succeeded',
      },
    };
  }
}

function invalidParam(param: string, message: string): StandInReply {
  return { status: 400, body: { error: { type: 'invalid_request_error', param, message } } };
}
