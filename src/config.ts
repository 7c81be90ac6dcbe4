import { loadClientConnectConfig } from '@temporalio/envconfig';
import type { NativeConnectionOptions } from '@temporalio/worker';
import { DEFAULT_TASK_QUEUE } from './domain/order.js';

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
  resend: { apiKey: string; baseUrl?: string; from: string };
  slack: { botToken: string; apiUrl?: string; channel: string };
  backend: { baseUrl: string; token?: string };
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
}

/** The HTTP trigger's own settings. */
export function loadApiConfig(env: Env = process.env): ApiConfig {
  const keys = required(env, 'TRIGGER_API_KEYS', 'a comma-separated list of API keys accepted as "Authorization: Bearer <key>"')
    .split(',')
    .map((key) => key.trim());
  if (keys.some((key) => key.length < 8)) {
    throw new ConfigError('TRIGGER_API_KEYS', 'must hold keys of at least 8 characters each, separated by commas');
  }
  return {
    triggerApiKeys: keys,
    port: port(env, 'PORT', 3000),
    host: optional(env, 'HOST') ?? '127.0.0.1',
  };
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

/** LOG_LEVEL of the worker and the API (default info). */
export function loadLogLevel(env: Env = process.env): LogLevel {
  const value = (optional(env, 'LOG_LEVEL') ?? 'info').toLowerCase();
  if (!LOG_LEVELS.includes(value as LogLevel)) throw new ConfigError('LOG_LEVEL', `must be one of ${LOG_LEVELS.join(', ')}, got "${value}"`);
  return value as LogLevel;
}
