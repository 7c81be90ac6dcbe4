import { bearerToken, StandIn, type StandInReply, type StandInRequest } from './stand-in.js';

/** The one channel that exists (SLACK_CHANNEL in the sandbox's environment). */
export const ALERT_CHANNEL = '#payments-alerts';

export interface RecordedSlackMessage {
  channel: string;
  text: string;
  ts: string;
}

/** Slack's rate limit answer: HTTP 429, `Retry-After` in seconds, `ok: false` with `ratelimited`. */
const RATE_LIMITED: StandInReply = { status: 429, headers: { 'retry-after': '1' }, body: { ok: false, error: 'ratelimited' } };

/**
 * A stand-in for Slack's Web API `chat.postMessage`: form or JSON bodies, HTTP 200 with `ok: false`
 * for platform errors (`invalid_auth`, `channel_not_found`), as Slack does. Only the sandbox's alert
 * channel exists. Slack posts about one message a second per channel and allows short bursts: past
 * `postMessageBurst` messages at once, a post is answered 429 until the channel's allowance refills.
 */
export class SlackStandIn extends StandIn {
  readonly messages: RecordedSlackMessage[] = [];
  /** Messages a channel takes at once; it refills one a second. Slack gives no figure: about 30 was observed. */
  postMessageBurst = 30;
  private readonly allowance = new Map<string, { messages: number; at: number }>();

  constructor() {
    super('Slack');
  }

  protected errorBody(status: number): unknown {
    return status === 200 ? { ok: false, error: 'internal_error' } : `Injected ${status} error`;
  }

  protected errorHeaders(status: number): Record<string, string> | undefined {
    return status === 429 ? RATE_LIMITED.headers : undefined;
  }

  /** Takes one message from the channel's allowance, refilled at one a second up to the burst; false when none is left. */
  private takeAllowance(channel: string): boolean {
    const now = Date.now();
    const last = this.allowance.get(channel) ?? { messages: this.postMessageBurst, at: now };
    const messages = Math.min(this.postMessageBurst, last.messages + (now - last.at) / 1000);
    if (messages < 1) {
      this.allowance.set(channel, { messages, at: now });
      return false;
    }
    this.allowance.set(channel, { messages: messages - 1, at: now });
    return true;
  }

  protected handle(request: StandInRequest): StandInReply {
    if (request.method !== 'POST' || request.path !== '/api/chat.postMessage') {
      return { status: 200, body: { ok: false, error: 'unknown_method' } };
    }
    if (!bearerToken(request.headers)?.startsWith('xoxb-')) return { status: 200, body: { ok: false, error: 'invalid_auth' } };
    const params: Record<string, unknown> = String(request.headers['content-type']).includes('application/json')
      ? (JSON.parse(request.body) as Record<string, unknown>)
      : Object.fromEntries(new URLSearchParams(request.body));
    const channel = typeof params.channel === 'string' ? params.channel : '';
    if (channel !== ALERT_CHANNEL) return { status: 200, body: { ok: false, error: 'channel_not_found' } };
    if (typeof params.text !== 'string' || params.text === '') return { status: 200, body: { ok: false, error: 'no_text' } };
    if (!this.takeAllowance(channel)) return RATE_LIMITED;
    const ts = `${Math.floor(Date.now() / 1000)}.${String(this.messages.length).padStart(6, '0')}`;
    this.messages.push({ channel, text: params.text, ts });
    return { status: 200, body: { ok: true, channel: 'C0PAYMENTS', ts, message: { type: 'message', text: params.text, ts } } };
  }
}
