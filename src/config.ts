import { isIP } from 'node:net';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import type { NativeConnectionOptions } from '@temporalio/worker';
import { DEFAULT_TASK_QUEUE } from './domain/order.js';
import type { PaymentSettings } from './domain/payment.js';

/** A missing or malformed environment variable: names it and says what is expected. */
export class ConfigError extends Error {
  constructor(variable: string, expected: string) {
    super(`Configuration error: ${variable} ${expected}. See .env.example for every variable.`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

function optional(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value ? value : undefined;
}

function required(env: Env, name: string, expected: string): string {
  const value = optional(env, name);
  if (value === undefined) throw new ConfigError(name, `is required: ${expected}`);
  return value;
}

function url(name: string, value: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    throw new ConfigError(name, `must be an http(s) URL, got "${value}"`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new ConfigError(name, `must be an http(s) URL, got "${value}"`);
  }
  return parsed;
}

function port(env: Env, name: string, fallback: number): number {
  const value = optional(env, name);
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0 || parsed > 65535) {
    throw new ConfigError(name, `must be a port number between 0 and 65535, got "${value}"`);
  }
  return parsed;
}

export interface TemporalConfig {
  connection: NativeConnectionOptions;
  namespace: string;
  taskQueue: string;
}

/**
 * Temporal connection settings, following the @temporalio/envconfig conventions: TEMPORAL_ADDRESS,
 * TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS_* and TEMPORAL_PROFILE / TEMPORAL_CONFIG_FILE.
 */
export function loadTemporalConfig(env: Env = process.env): TemporalConfig {
  let connect: ReturnType<typeof loadClientConnectConfig>;
  try {
    connect = loadClientConnectConfig({ overrideEnvVars: env as Record<string, string> });
  } catch (error) {
    throw new ConfigError('TEMPORAL_* / TEMPORAL_CONFIG_FILE', `could not be loaded (${(error as Error).message})`);
  }
  const address = connect.connectionOptions.address ?? 'localhost:7233';
  if (!/^[^\s:/]+:\d+$/.test(address)) {
    throw new ConfigError('TEMPORAL_ADDRESS', `must be host:port, got "${address}"`);
  }
  return {
    connection: { ...connect.connectionOptions, address },
    namespace: connect.namespace ?? 'default',
    taskQueue: optional(env, 'TEMPORAL_TASK_QUEUE') ?? DEFAULT_TASK_QUEUE,
  };
}

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

/** A duration such as 23h, 90m or 45s, from 1s to 24h (Stripe keeps idempotency keys 24 h). */
function paymentDurationMs(name: string, value: string, why: string): number {
  const match = /^(\d+)([smh])$/.exec(value);
  const ms = match ? Number(match[1]) * DURATION_UNITS_MS[match[2] as keyof typeof DURATION_UNITS_MS] : 0;
  if (ms < 1_000 || ms > STRIPE_KEY_WINDOW_MS) throw new ConfigError(name, `must be a duration from 1s to 24h such as 23h, 90m or 45s (${why}), got "${value}"`);
  return ms;
}

/** PAYMENT_ACTION_URL: the merchant's page where a customer confirms a payment, with `{orderId}` in it. */
function paymentActionUrl(value: string): string {
  if (!value.includes('{orderId}')) throw new ConfigError('PAYMENT_ACTION_URL', `must contain {orderId}, got "${value}"`);
  url('PAYMENT_ACTION_URL', value.replaceAll('{orderId}', 'ord_1'));
  return value;
}

/** What the worker's activities need to reach Stripe, Resend, Slack and the order backend. */
export function loadProviderConfig(env: Env = process.env): ProviderConfig {
  const secretKey = required(env, 'STRIPE_SECRET_KEY', 'a Stripe secret key (sk_live_..., sk_test_... or rk_...)');
  if (!/^(sk|rk)_/.test(secretKey)) throw new ConfigError('STRIPE_SECRET_KEY', 'must start with sk_ or rk_');
  const stripeApiUrl = optional(env, 'STRIPE_API_URL');
  const resendBaseUrl = optional(env, 'RESEND_BASE_URL');
  const slackApiUrl = optional(env, 'SLACK_API_URL');
  const backendBaseUrl = required(env, 'API_BASE_URL', 'the base URL of the order backend, e.g. https://shop.example.com/api');
  const from = required(env, 'RECEIPT_FROM', 'the sender of receipts, e.g. "Shop <orders@shop.example.com>"');
  if (!/@[^@\s>]+\.[^@\s>]+>?$/.test(from)) {
    throw new ConfigError('RECEIPT_FROM', `must be an email address or "Name <address>", got "${from}"`);
  }
  return {
    stripe: { secretKey, apiUrl: stripeApiUrl === undefined ? undefined : url('STRIPE_API_URL', stripeApiUrl) },
    payments: {
      reconcileTimeoutMs: paymentDurationMs(
        'PAYMENT_RECONCILE_TIMEOUT',
        optional(env, 'PAYMENT_RECONCILE_TIMEOUT') ?? '23h',
        "inside Stripe's 24 h idempotency window",
      ),
      actionTimeoutMs: paymentDurationMs('PAYMENT_ACTION_TIMEOUT', optional(env, 'PAYMENT_ACTION_TIMEOUT') ?? '23h', 'how long a customer has to confirm a payment'),
      actionUrl: paymentActionUrl(
        required(env, 'PAYMENT_ACTION_URL', 'the page where a customer confirms a payment their bank asks them to, with {orderId}, e.g. https://shop.example.com/orders/{orderId}/pay'),
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
      channel: optional(env, 'SLACK_CHANNEL') ?? '#payments-alerts',
    },
    backend: {
      baseUrl: url('API_BASE_URL', backendBaseUrl).href.replace(/\/$/, ''),
      token: optional(env, 'API_TOKEN'),
    },
  };
}

export interface ApiConfig {
  triggerApiKeys: string[];
  port: number;
  host: string;
  /** Base URL of the Temporal Web UI, for the links in run details. */
  webUiUrl: string;
  rateLimit: { max: number; windowMs: number };
  /** How long a closing API waits for in-flight requests before it stops anyway. */
  shutdownGraceMs: number;
  /** POST /webhooks/stripe's signing secret (whsec_...); without it the route answers 503. */
  stripeWebhookSecret?: string;
  /** POST /webhooks/stripe's own limit, per client IP (Stripe's delivery addresses), outside the per-key one. */
  webhookRateLimit: { max: number; windowMs: number };
}

function positiveInteger(env: Env, name: string, fallback: number): number {
  const value = optional(env, name);
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1) throw new ConfigError(name, `must be a positive integer, got "${value}"`);
  return parsed;
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
  const webUiUrl = optional(env, 'TEMPORAL_UI_URL') ?? 'http://localhost:8233';
  const stripeWebhookSecret = optional(env, 'STRIPE_WEBHOOK_SECRET');
  if (stripeWebhookSecret !== undefined && !/^whsec_[\x21-\x7e]+$/.test(stripeWebhookSecret)) {
    throw new ConfigError(
      'STRIPE_WEBHOOK_SECRET',
      "must be the webhook endpoint's signing secret, starting with whsec_ (Dashboard > Developers > Webhooks > the endpoint > Signing secret, or the one `stripe listen` prints)",
    );
  }
  return {
    triggerApiKeys: keys,
    port: port(env, 'PORT', 3000),
    host: optional(env, 'HOST') ?? '127.0.0.1',
    webUiUrl: url('TEMPORAL_UI_URL', webUiUrl).href.replace(/\/$/, ''),
    rateLimit: {
      max: positiveInteger(env, 'RATE_LIMIT_MAX', 600),
      windowMs: positiveInteger(env, 'RATE_LIMIT_WINDOW_SECONDS', 60) * 1000,
    },
    shutdownGraceMs: positiveInteger(env, 'SHUTDOWN_GRACE_SECONDS', 10) * 1000,
    ...(stripeWebhookSecret !== undefined && { stripeWebhookSecret }),
    webhookRateLimit: { max: positiveInteger(env, 'WEBHOOK_RATE_LIMIT_MAX', 1200), windowMs: 60_000 },
  };
}

/** How long a worker told to stop lets in-flight activities finish before it hands them back. */
export function loadWorkerShutdownGraceMs(env: Env = process.env): number {
  return positiveInteger(env, 'SHUTDOWN_GRACE_SECONDS', 10) * 1000;
}

/** Where a process serves its Prometheus metrics (`GET http://<host>:<port>/metrics`). */
export interface MetricsEndpoint {
  host: string;
  port: number;
}

/** A scrape port must be known in advance, so 0 ("any free port") is refused. */
function metricsPort(name: string, value: number): number {
  if (value === 0) throw new ConfigError(name, 'must be a port number between 1 and 65535 (Prometheus must know where to scrape), got "0"');
  return value;
}

/** An IP address: the worker's metrics exporter binds a socket address, not a hostname. */
function metricsHost(value = '127.0.0.1'): string {
  if (isIP(value) === 0) {
    throw new ConfigError('METRICS_HOST', `must be an IP address to bind, e.g. 127.0.0.1 or 0.0.0.0 (all interfaces), got "${value}"`);
  }
  return value;
}

/** The worker's Prometheus endpoint (the Temporal runtime's metrics and the workflow's business counters). */
export function loadWorkerMetricsConfig(env: Env = process.env): MetricsEndpoint {
  return {
    host: metricsHost(optional(env, 'METRICS_HOST')),
    port: metricsPort('WORKER_METRICS_PORT', port(env, 'WORKER_METRICS_PORT', 9464)),
  };
}

/** The API's Prometheus endpoint, on its own port rather than the public API port (PORT, default 3000). */
export function loadApiMetricsConfig(env: Env = process.env): MetricsEndpoint {
  const metrics = metricsPort('API_METRICS_PORT', port(env, 'API_METRICS_PORT', 9465));
  if (metrics === port(env, 'PORT', 3000)) {
    throw new ConfigError('API_METRICS_PORT', `must differ from PORT (${metrics}): the scrape endpoint has a port of its own`);
  }
  return { host: metricsHost(optional(env, 'METRICS_HOST')), port: metrics };
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

/** LOG_LEVEL of the worker and the API (default info). */
export function loadLogLevel(env: Env = process.env): LogLevel {
  const value = (optional(env, 'LOG_LEVEL') ?? 'info').toLowerCase();
  if (!LOG_LEVELS.includes(value as LogLevel)) throw new ConfigError('LOG_LEVEL', `must be one of ${LOG_LEVELS.join(', ')}, got "${value}"`);
  return value as LogLevel;
}

/** One AES-256 key of TEMPORAL_CODEC_KEYS: its ID travels in each payload's metadata, the key never does. */
export interface CodecKey {
  id: string;
  key: Buffer;
}

/** Payload encryption: on with keys (the first encrypts, all decrypt), or off only when explicitly disabled. */
export type CodecConfig = { enabled: true; keys: CodecKey[] } | { enabled: false };

const CODEC_KEY_BYTES = 32;
const CODEC_KEY_COMMAND = `node -e "console.log(require('crypto').randomBytes(32).toString('base64'))"`;

function flag(env: Env, name: string): boolean {
  const value = optional(env, name)?.toLowerCase();
  if (value === undefined || value === 'false') return false;
  if (value === 'true') return true;
  throw new ConfigError(name, `must be "true" or "false", got "${value}"`);
}

/** Standard base64 (padding optional) that decodes to exactly what it says; Buffer.from alone skips bad characters. */
function decodeBase64(value: string): Buffer | undefined {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(value)) return undefined;
  const decoded = Buffer.from(value, 'base64');
  return decoded.toString('base64').replace(/=+$/, '') === value.replace(/=+$/, '') ? decoded : undefined;
}

/**
 * TEMPORAL_CODEC_KEYS: comma-separated `keyId:base64key` (32-byte AES-256 keys). Required unless
 * TEMPORAL_CODEC_DISABLED=true, so a forgotten variable can never store personal data in plain text.
 * Error messages name key IDs, never key material.
 */
export function loadCodecConfig(env: Env = process.env): CodecConfig {
  const disabled = flag(env, 'TEMPORAL_CODEC_DISABLED');
  const value = optional(env, 'TEMPORAL_CODEC_KEYS');
  if (disabled) {
    if (value !== undefined) {
      throw new ConfigError('TEMPORAL_CODEC_DISABLED', 'is "true" while TEMPORAL_CODEC_KEYS is set: remove one of them (runs encrypted earlier need the keys)');
    }
    return { enabled: false };
  }
  if (value === undefined) {
    throw new ConfigError(
      'TEMPORAL_CODEC_KEYS',
      `is required: comma-separated keyId:base64key entries of 32-byte keys (the first encrypts), e.g. "k1:<key>" with a key from ` +
        `\`${CODEC_KEY_COMMAND}\`; or set TEMPORAL_CODEC_DISABLED=true to store payloads unencrypted (never with personal data)`,
    );
  }
  const keys: CodecKey[] = [];
  for (const [index, entry] of value.split(',').map((part) => part.trim()).entries()) {
    const separator = entry.indexOf(':');
    const id = separator === -1 ? '' : entry.slice(0, separator).trim();
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(id)) {
      throw new ConfigError(
        'TEMPORAL_CODEC_KEYS',
        `entry ${index + 1} must be keyId:base64key with a key ID of letters, digits, ".", "_" or "-" (at most 64), separated by commas`,
      );
    }
    const key = decodeBase64(entry.slice(separator + 1).trim());
    if (key === undefined) throw new ConfigError('TEMPORAL_CODEC_KEYS', `key "${id}" is not valid base64`);
    if (key.length !== CODEC_KEY_BYTES) {
      throw new ConfigError(
        'TEMPORAL_CODEC_KEYS',
        `key "${id}" must decode to ${CODEC_KEY_BYTES} bytes (AES-256), got ${key.length}; generate one with \`${CODEC_KEY_COMMAND}\``,
      );
    }
    if (keys.some((known) => known.id === id)) throw new ConfigError('TEMPORAL_CODEC_KEYS', `names the key ID "${id}" twice; key IDs must be unique`);
    keys.push({ id, key });
  }
  return { enabled: true, keys };
}

export interface CodecServerConfig {
  port: number;
  host: string;
  /** Browser origins allowed to call the codec server: the Temporal Web UI's. */
  corsOrigins: string[];
  /** Accepted `Authorization: Bearer <token>` values; empty only when CODEC_AUTH_DISABLED=true. */
  authTokens: string[];
}

function origin(name: string, value: string): string {
  const parsed = url(name, value);
  if (parsed.pathname !== '/' || parsed.search || parsed.hash || parsed.username || parsed.password) {
    throw new ConfigError(name, `must list origins (scheme://host[:port], no path), got "${value}"`);
  }
  return parsed.origin;
}

/**
 * The codec server's own settings. It decrypts for whoever it trusts, so it refuses to start without
 * CODEC_AUTH_TOKENS unless CODEC_AUTH_DISABLED=true says that is intended (the local stack, or an
 * authenticating proxy in front of it).
 */
export function loadCodecServerConfig(env: Env = process.env): CodecServerConfig {
  const tokensValue = optional(env, 'CODEC_AUTH_TOKENS');
  const authDisabled = flag(env, 'CODEC_AUTH_DISABLED');
  if (authDisabled && tokensValue !== undefined) {
    throw new ConfigError('CODEC_AUTH_DISABLED', 'is "true" while CODEC_AUTH_TOKENS is set: remove one of them');
  }
  if (!authDisabled && tokensValue === undefined) {
    throw new ConfigError(
      'CODEC_AUTH_TOKENS',
      'is required: comma-separated tokens (16+ characters) accepted as "Authorization: Bearer <token>"; or set CODEC_AUTH_DISABLED=true ' +
        'when the codec server is reachable only by trusted callers',
    );
  }
  const authTokens = (tokensValue ?? '').split(',').map((token) => token.trim()).filter((token) => token !== '');
  if (!authDisabled && (authTokens.length === 0 || authTokens.some((token) => !/^[\x21-\x7e]{16,512}$/.test(token)))) {
    throw new ConfigError('CODEC_AUTH_TOKENS', 'must hold tokens of 16 to 512 printable characters without spaces, separated by commas');
  }
  const corsOrigins = (optional(env, 'CODEC_CORS_ORIGIN') ?? 'http://localhost:8233')
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '')
    .map((entry) => origin('CODEC_CORS_ORIGIN', entry));
  return {
    port: port(env, 'CODEC_PORT', 8888),
    host: optional(env, 'CODEC_HOST') ?? '127.0.0.1',
    corsOrigins,
    authTokens,
  };
}
