import { createHash, randomUUID } from 'node:crypto';
import { bearerToken, StandIn, type StandInReply, type StandInRequest } from './stand-in.js';

export interface RecordedEmail {
  id: string;
  from: string;
  to: string[];
  subject: string;
  text?: string;
  idempotencyKey?: string;
}

/**
 * A stand-in for Resend's `POST /emails`: JSON in, `{ id }` out, Resend's error body
 * `{ statusCode, name, message }`, and idempotency keys honoured (same key and body: the same email;
 * same key, other body: 409 invalid_idempotent_request).
 */
export class ResendStandIn extends StandIn {
  readonly emails: RecordedEmail[] = [];
  private readonly idempotentResults = new Map<string, { bodyHash: string; reply: StandInReply }>();

  constructor() {
    super('Resend');
  }

  protected errorBody(status: number): unknown {
    if (status === 429) return { statusCode: 429, name: 'rate_limit_exceeded', message: 'Too many requests.' };
    if (status >= 500) return { statusCode: status, name: 'internal_server_error', message: 'An unexpected error occurred.' };
    return { statusCode: status, name: 'validation_error', message: `Injected ${status} error.` };
  }

  protected handle(request: StandInRequest): StandInReply {
    if (!bearerToken(request.headers)?.startsWith('re_')) {
      return { status: 401, body: { statusCode: 401, name: 'missing_api_key', message: 'Missing API key in the authorization header.' } };
    }
    if (request.method !== 'POST' || request.path !== '/emails') {
      return { status: 404, body: { statusCode: 404, name: 'not_found', message: 'The requested endpoint does not exist.' } };
    }
    const idempotencyKey = request.headers['idempotency-key'] as string | undefined;
    const bodyHash = createHash('sha256').update(request.body).digest('hex');
    if (idempotencyKey) {
      const stored = this.idempotentResults.get(idempotencyKey);
      if (stored && stored.bodyHash !== bodyHash) {
        return {
          status: 409,
          body: {
            statusCode: 409,
            name: 'invalid_idempotent_request',
            message: 'Same idempotency key used with a different request payload.',
          },
        };
      }
      if (stored) return stored.reply;
    }
    let email: { from?: unknown; to?: unknown; subject?: unknown; text?: unknown };
    try {
      email = JSON.parse(request.body) as typeof email;
    } catch {
      return { status: 422, body: { statusCode: 422, name: 'validation_error', message: 'Invalid JSON body.' } };
    }
    const to = typeof email.to === 'string' ? [email.to] : email.to;
    for (const [field, ok] of [
      ['from', typeof email.from === 'string'],
      ['to', Array.isArray(to) && to.length > 0],
      ['subject', typeof email.subject === 'string'],
    ] as const) {
      if (!ok) return { status: 422, body: { statusCode: 422, name: 'missing_required_field', message: `Missing \`${field}\` field.` } };
    }
    const id = randomUUID();
    this.emails.push({
      id,
      from: email.from as string,
      to: to as string[],
      subject: email.subject as string,
      ...(typeof email.text === 'string' && { text: email.text }),
      idempotencyKey,
    });
    const reply: StandInReply = { status: 200, body: { id } };
    if (idempotencyKey) this.idempotentResults.set(idempotencyKey, { bodyHash, reply });
    return reply;
  }
}
