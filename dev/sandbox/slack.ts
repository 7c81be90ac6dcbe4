import { bearerToken, StandIn, type StandInReply, type StandInRequest } from './stand-in.js';

/** The one channel that exists (SLACK_CHANNEL in the sandbox's environment). */
export const ALERT_CHANNEL = '#payments-alerts';

export interface RecordedSlackMessage {
  channel: string;
  text: string;
  ts: string;
}

/**
 * A stand-in for Slack's Web API `chat.postMessage`: form or JSON bodies, HTTP 200 with `ok: false`
 * for platform errors (`invalid_auth`, `channel_not_found`), as Slack does. Only the sandbox's alert
 * channel exists.
 */
export class SlackStandIn extends StandIn {
  readonly messages: RecordedSlackMessage[] = [];

  constructor() {
    super('Slack');
  }

  protected errorBody(status: number): unknown {
    return status === 200 ? { ok: false, error: 'internal_error' } : `Injected ${status} error`;
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
    const ts = `${Math.floor(Date.now() / 1000)}.${String(this.messages.length).padStart(6, '0')}`;
    this.messages.push({ channel, text: params.text, ts });
    return { status: 200, body: { ok: true, channel: 'C0PAYMENTS', ts, message: { type: 'message', text: params.text, ts } } };
  }
}
