import Stripe from 'stripe';
import { Resend } from 'resend';
import { WebClient } from '@slack/web-api';
import type { ProviderConfig } from '../config/worker-settings.js';

export interface ProviderClients {
  stripe: Stripe;
  resend: Resend;
  slack: WebClient;
}

/** Per-request timeout of every provider call; each activity's startToCloseTimeout is above it. */
export const PROVIDER_REQUEST_TIMEOUT_MS = 20_000;

/** Stripe's SDK, at STRIPE_API_URL when it is set; its own retries off (the callers decide). */
export function createStripeClient({ secretKey, apiUrl }: ProviderConfig['stripe']): Stripe {
  return new Stripe(secretKey, {
    maxNetworkRetries: 0,
    timeout: PROVIDER_REQUEST_TIMEOUT_MS,
    ...(apiUrl && {
      protocol: apiUrl.protocol === 'http:' ? 'http' : 'https',
      host: apiUrl.hostname,
      port: apiUrl.port || (apiUrl.protocol === 'http:' ? 80 : 443),
    }),
  });
}

/**
 * The real provider SDKs, optionally pointed at other base URLs (local stand-ins, stripe-mock).
 * Their own retry loops are off: Temporal's retry policies decide, visibly in the history.
 */
export function createProviderClients(config: ProviderConfig): ProviderClients {
  const stripe = createStripeClient(config.stripe);
  const resend = new Resend(config.resend.apiKey, config.resend.baseUrl ? { baseUrl: config.resend.baseUrl } : undefined);
  const slack = new WebClient(config.slack.botToken, {
    ...(config.slack.apiUrl && { slackApiUrl: config.slack.apiUrl }),
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
    timeout: PROVIDER_REQUEST_TIMEOUT_MS,
  });
  return { stripe, resend, slack };
}
