/** The worker's own settings: how its activities reach the providers, its metrics and its shutdown. */
import type { PaymentSettings } from '../domain/payment.js';
import { ConfigError, optional, required, url, type Env } from './env.js';
import { metricsEndpoint, shutdownGraceMs, type MetricsEndpoint } from './process.js';

export const DEFAULT_SLACK_CHANNEL = '#payments-alerts';
/** PAYMENT_RECONCILE_TIMEOUT and PAYMENT_ACTION_TIMEOUT: inside Stripe's 24 h idempotency window. */
export const DEFAULT_PAYMENT_TIMEOUT = '23h';
export const DEFAULT_WORKER_METRICS_PORT = 9464;

export interface ProviderConfig {
  stripe: { secretKey: string; apiUrl?: URL };
  payments: PaymentSettings & { actionUrl: string };
  resend: { apiKey: string; baseUrl?: string; from: string };
  slack: { botToken: string; apiUrl?: string; channel: string };
  backend: { baseUrl: string; token?: string };
}

const DURATION_UNITS_MS = { s: 1_000, m: 60_000, h: 3_600_000 } as const;
/** Stripe replays a key's answer for 24 h; reconciliation ends inside that window. */
const STRIPE_KEY_WINDOW_MS = 24 * 3_600_000;

/** A duration such as 23h, 90m or 45s, from 1s to `maxHours`. */
function durationMs(env: Env, name: string, fallback: string, maxHours: number, why: string): number {
  const value = optional(env, name) ?? fallback;
  const match = /^(\d+)([smh])$/.exec(value);
  const ms = match ? Number(match[1]) * DURATION_UNITS_MS[match[2] as keyof typeof DURATION_UNITS_MS] : 0;
  if (ms < 1_000 || ms > maxHours * DURATION_UNITS_MS.h)
    throw new ConfigError(name, `must be a duration from 1s to ${maxHours}h such as 23h, 90m or 45s (${why}), got "${value}"`);
  return ms;
}

/** A payment timeout, from 1s to 24h: Stripe keeps idempotency keys 24 h. */
function paymentDurationMs(env: Env, name: string, why: string): number {
  return durationMs(env, name, DEFAULT_PAYMENT_TIMEOUT, STRIPE_KEY_WINDOW_MS / DURATION_UNITS_MS.h, why);
}

export const DEFAULT_RECONCILIATION_INTERVAL = '1h';
/** Past the longest a run waits for Stripe (PAYMENT_RECONCILE_TIMEOUT, at most 24 h), so every order is compared once it ended. */
export const DEFAULT_RECONCILIATION_WINDOW = '25h';

export interface ReconciliationConfig {
  /** RECONCILIATION_INTERVAL: how often the `order-reconciliation` schedule sweeps. */
  intervalMs: number;
  /** RECONCILIATION_WINDOW: how far back each sweep reads Stripe's changes to payments (events, disputes). */
  windowMs: number;
}

/** The reconciliation sweep's schedule, which the worker creates (or updates) at start. */
export function loadReconciliationConfig(env: Env = process.env): ReconciliationConfig {
  return {
    intervalMs: durationMs(env, 'RECONCILIATION_INTERVAL', DEFAULT_RECONCILIATION_INTERVAL, 24, 'how often the sweep runs'),
    windowMs: durationMs(env, 'RECONCILIATION_WINDOW', DEFAULT_RECONCILIATION_WINDOW, 7 * 24, 'how far back a sweep compares'),
  };
}

/** PAYMENT_ACTION_URL: the merchant's page where a customer confirms a payment, with `{orderId}` in it. */
function paymentActionUrl(value: string): string {
  if (!value.includes('{orderId}')) throw new ConfigError('PAYMENT_ACTION_URL', `must contain {orderId}, got "${value}"`);
  url('PAYMENT_ACTION_URL', value.replaceAll('{orderId}', 'ord_1'));
  return value;
}

export type StripeConfig = ProviderConfig['stripe'];

/** STRIPE_SECRET_KEY and STRIPE_API_URL (a stand-in or stripe-mock instead of Stripe); undefined without a key when it is optional. */
export function stripeConfig(env: Env, need: 'required'): StripeConfig;
export function stripeConfig(env: Env, need: 'optional'): StripeConfig | undefined;
export function stripeConfig(env: Env, need: 'required' | 'optional'): StripeConfig | undefined {
  const why = 'a Stripe secret key (sk_live_..., sk_test_... or rk_...)';
  const secretKey = need === 'required' ? required(env, 'STRIPE_SECRET_KEY', why) : optional(env, 'STRIPE_SECRET_KEY');
  if (secretKey === undefined) return undefined;
  if (!/^(sk|rk)_/.test(secretKey)) throw new ConfigError('STRIPE_SECRET_KEY', 'must start with sk_ or rk_');
  const stripeApiUrl = optional(env, 'STRIPE_API_URL');
  return { secretKey, apiUrl: stripeApiUrl === undefined ? undefined : url('STRIPE_API_URL', stripeApiUrl) };
}

/** What the worker's activities need to reach Stripe, Resend, Slack and the order backend. */
export function loadProviderConfig(env: Env = process.env): ProviderConfig {
  const stripe = stripeConfig(env, 'required');
  const resendBaseUrl = optional(env, 'RESEND_BASE_URL');
  const slackApiUrl = optional(env, 'SLACK_API_URL');
  const backendBaseUrl = required(env, 'API_BASE_URL', 'the base URL of the order backend, e.g. https://shop.example.com/api');
  const from = required(env, 'RECEIPT_FROM', 'the sender of receipts, e.g. "Shop <orders@shop.example.com>"');
  if (!/@[^@\s>]+\.[^@\s>]+>?$/.test(from)) {
    throw new ConfigError('RECEIPT_FROM', `must be an email address or "Name <address>", got "${from}"`);
  }
  return {
    stripe,
    payments: {
      reconcileTimeoutMs: paymentDurationMs(env, 'PAYMENT_RECONCILE_TIMEOUT', "inside Stripe's 24 h idempotency window"),
      actionTimeoutMs: paymentDurationMs(env, 'PAYMENT_ACTION_TIMEOUT', 'how long a customer has to confirm a payment'),
      actionUrl: paymentActionUrl(
        required(
          env,
          'PAYMENT_ACTION_URL',
          'the page where a customer confirms a payment their bank asks them to, with {orderId}, e.g. https://shop.example.com/orders/{orderId}/pay',
        ),
      ),
    },
    resend: {
      apiKey: required(env, 'RESEND_API_KEY', 'a Resend API key (re_...)'),
      baseUrl: resendBaseUrl === undefined ? undefined : url('RESEND_BASE_URL', resendBaseUrl).href.replace(/\/$/, ''),
      from,
    },
    slack: {
      botToken: required(env, 'SLACK_BOT_TOKEN', 'a Slack bot token (xoxb-...)'),
      // The Slack SDK appends method names to this URL, so it must end with a slash.
      apiUrl: slackApiUrl === undefined ? undefined : url('SLACK_API_URL', slackApiUrl).href.replace(/\/?$/, '/'),
      channel: optional(env, 'SLACK_CHANNEL') ?? DEFAULT_SLACK_CHANNEL,
    },
    backend: {
      baseUrl: url('API_BASE_URL', backendBaseUrl).href.replace(/\/$/, ''),
      token: optional(env, 'API_TOKEN'),
    },
  };
}

/** How long a worker told to stop lets in-flight activities finish before it hands them back. */
export function loadWorkerShutdownGraceMs(env: Env = process.env): number {
  return shutdownGraceMs(env);
}

/** The worker's Prometheus endpoint (the Temporal runtime's metrics and the workflow's business counters). */
export function loadWorkerMetricsConfig(env: Env = process.env): MetricsEndpoint {
  return metricsEndpoint(env, 'WORKER_METRICS_PORT', DEFAULT_WORKER_METRICS_PORT);
}
