/** The API's own settings: who may call it, where it listens, its limits, its metrics. */
import { ConfigError, DEFAULT_HOST, optional, port, positiveInteger, required, url, type Env } from './env.js';
import { metricsEndpoint, shutdownGraceMs, type MetricsEndpoint } from './process.js';
import { DEFAULT_TEMPORAL_UI_URL } from './temporal.js';
import { stripeConfig, type StripeConfig } from './worker-settings.js';

export interface RateLimit {
  /** Requests per key (an API key, or a client IP) in each window. */
  max: number;
  windowMs: number;
}

export const DEFAULT_API_PORT = 3000;
export const DEFAULT_API_METRICS_PORT = 9465;
/** Per API key (per client IP for requests without a valid key). */
export const DEFAULT_RATE_LIMIT: RateLimit = { max: 600, windowMs: 60_000 };
/** POST /webhooks/stripe, per client IP (Stripe's delivery addresses); its window is fixed. */
export const DEFAULT_WEBHOOK_RATE_LIMIT: RateLimit = { max: 1200, windowMs: 60_000 };
export { DEFAULT_TEMPORAL_UI_URL };

export interface ApiConfig {
  triggerApiKeys: string[];
  port: number;
  host: string;
  /** Base URL of the Temporal Web UI, for the links in run details. */
  webUiUrl: string;
  rateLimit: RateLimit;
  /** How long a closing API waits for in-flight requests before it stops anyway. */
  shutdownGraceMs: number;
  /** POST /webhooks/stripe's signing secret (whsec_...); without it the route answers 503. */
  stripeWebhookSecret?: string;
  /** POST /webhooks/stripe's own limit, per client IP (Stripe's delivery addresses), outside the per-key one. */
  webhookRateLimit: RateLimit;
  /** STRIPE_SECRET_KEY (and STRIPE_API_URL): on-session orders' client secrets are read from Stripe; without it they are refused (503). */
  stripe?: StripeConfig;
}

/** PORT: where the API listens. */
function apiPort(env: Env): number {
  return port(env, 'PORT', DEFAULT_API_PORT);
}

/** The HTTP trigger's own settings. */
export function loadApiConfig(env: Env = process.env): ApiConfig {
  const keys = required(env, 'TRIGGER_API_KEYS', 'a comma-separated list of API keys accepted as "Authorization: Bearer <key>"')
    .split(',')
    .map((key) => key.trim());
  // The characters a bearer token can carry: a key outside them could never be presented.
  if (keys.some((key) => !/^[\x21-\x7e]{8,512}$/.test(key))) {
    throw new ConfigError('TRIGGER_API_KEYS', 'must hold keys of 8-512 printable ASCII characters (no spaces) each, separated by commas');
  }
  const webUiUrl = optional(env, 'TEMPORAL_UI_URL') ?? DEFAULT_TEMPORAL_UI_URL;
  const stripeWebhookSecret = optional(env, 'STRIPE_WEBHOOK_SECRET');
  if (stripeWebhookSecret !== undefined && !/^whsec_[\x21-\x7e]+$/.test(stripeWebhookSecret)) {
    throw new ConfigError(
      'STRIPE_WEBHOOK_SECRET',
      "must be the webhook endpoint's signing secret, starting with whsec_ (Dashboard > Developers > Webhooks > the endpoint > Signing secret, or the one `stripe listen` prints)",
    );
  }
  const stripe = stripeConfig(env, 'optional');
  return {
    triggerApiKeys: keys,
    ...(stripe && { stripe }),
    port: apiPort(env),
    host: optional(env, 'HOST') ?? DEFAULT_HOST,
    webUiUrl: url('TEMPORAL_UI_URL', webUiUrl).href.replace(/\/$/, ''),
    rateLimit: {
      max: positiveInteger(env, 'RATE_LIMIT_MAX', DEFAULT_RATE_LIMIT.max),
      windowMs: positiveInteger(env, 'RATE_LIMIT_WINDOW_SECONDS', DEFAULT_RATE_LIMIT.windowMs / 1000) * 1000,
    },
    shutdownGraceMs: shutdownGraceMs(env),
    ...(stripeWebhookSecret !== undefined && { stripeWebhookSecret }),
    webhookRateLimit: {
      ...DEFAULT_WEBHOOK_RATE_LIMIT,
      max: positiveInteger(env, 'WEBHOOK_RATE_LIMIT_MAX', DEFAULT_WEBHOOK_RATE_LIMIT.max),
    },
  };
}

/** The API's Prometheus endpoint, on its own port rather than the public API port (PORT). */
export function loadApiMetricsConfig(env: Env = process.env): MetricsEndpoint {
  const endpoint = metricsEndpoint(env, 'API_METRICS_PORT', DEFAULT_API_METRICS_PORT);
  if (endpoint.port === apiPort(env)) {
    throw new ConfigError('API_METRICS_PORT', `must differ from PORT (${endpoint.port}): the scrape endpoint has a port of its own`);
  }
  return endpoint;
}
