import { describe, expect, it } from 'vitest';
import { loadApiConfig } from '../../src/config/api.js';
import { ConfigError } from '../../src/config/env.js';
import { loadTemporalConfig } from '../../src/config/temporal.js';
import { loadApiTracingConfig, loadWorkerTracingConfig } from '../../src/config/tracing.js';
import { loadProviderConfig } from '../../src/config/worker-settings.js';

const providerEnv = {
  STRIPE_SECRET_KEY: 'sk_test_123',
  RESEND_API_KEY: 're_123',
  RECEIPT_FROM: 'Shop <orders@shop.example.com>',
  SLACK_BOT_TOKEN: 'xoxb-123',
  API_BASE_URL: 'https://shop.example.com/api/',
  PAYMENT_ACTION_URL: 'https://shop.example.com/orders/{orderId}/pay',
};

describe('configuration', () => {
  it('applies the documented defaults', () => {
    expect(loadTemporalConfig({})).toMatchObject({
      connection: { address: 'localhost:7233' },
      namespace: 'default',
      taskQueue: 'order-processing',
    });
    expect(loadProviderConfig(providerEnv)).toMatchObject({
      slack: { channel: '#payments-alerts' },
      backend: { baseUrl: 'https://shop.example.com/api' },
      payments: {
        reconcileTimeoutMs: 23 * 3_600_000,
        actionTimeoutMs: 23 * 3_600_000,
        actionUrl: 'https://shop.example.com/orders/{orderId}/pay',
      },
    });
    expect(loadProviderConfig({ ...providerEnv, PAYMENT_RECONCILE_TIMEOUT: '90m', PAYMENT_ACTION_TIMEOUT: '45s' }).payments).toMatchObject({
      reconcileTimeoutMs: 90 * 60_000,
      actionTimeoutMs: 45_000,
    });
    expect(loadApiConfig({ TRIGGER_API_KEYS: 'ask_12345678, ask_abcdefgh' })).toEqual({
      triggerApiKeys: ['ask_12345678', 'ask_abcdefgh'],
      port: 3000,
      host: '127.0.0.1',
      webUiUrl: 'http://localhost:8233',
      rateLimit: { max: 600, windowMs: 60_000 },
      webhookRateLimit: { max: 1200, windowMs: 60_000 },
      shutdownGraceMs: 10_000,
    });
  });

  it('reads the Temporal Cloud settings of @temporalio/envconfig', () => {
    const config = loadTemporalConfig({
      TEMPORAL_ADDRESS: 'ns.acct.tmprl.cloud:7233',
      TEMPORAL_NAMESPACE: 'ns.acct',
      TEMPORAL_API_KEY: 'key',
    });
    expect(config.connection).toMatchObject({ address: 'ns.acct.tmprl.cloud:7233', apiKey: 'key' });
    expect(config.namespace).toBe('ns.acct');
  });

  it.each([
    [{ ...providerEnv, STRIPE_SECRET_KEY: undefined }, 'STRIPE_SECRET_KEY'],
    [{ ...providerEnv, STRIPE_SECRET_KEY: 'pk_test_123' }, 'STRIPE_SECRET_KEY'],
    [{ ...providerEnv, STRIPE_API_URL: 'localhost:12111' }, 'STRIPE_API_URL'],
    [{ ...providerEnv, RESEND_API_KEY: ' ' }, 'RESEND_API_KEY'],
    [{ ...providerEnv, RECEIPT_FROM: 'orders' }, 'RECEIPT_FROM'],
    [{ ...providerEnv, SLACK_BOT_TOKEN: undefined }, 'SLACK_BOT_TOKEN'],
    [{ ...providerEnv, API_BASE_URL: 'ftp://shop' }, 'API_BASE_URL'],
    [{ ...providerEnv, PAYMENT_RECONCILE_TIMEOUT: '25h' }, 'PAYMENT_RECONCILE_TIMEOUT'],
    [{ ...providerEnv, PAYMENT_RECONCILE_TIMEOUT: '0s' }, 'PAYMENT_RECONCILE_TIMEOUT'],
    [{ ...providerEnv, PAYMENT_RECONCILE_TIMEOUT: '23 hours' }, 'PAYMENT_RECONCILE_TIMEOUT'],
    [{ ...providerEnv, PAYMENT_ACTION_TIMEOUT: '2d' }, 'PAYMENT_ACTION_TIMEOUT'],
    [{ ...providerEnv, PAYMENT_ACTION_URL: undefined }, 'PAYMENT_ACTION_URL'],
    [{ ...providerEnv, PAYMENT_ACTION_URL: 'https://shop.example.com/pay' }, 'PAYMENT_ACTION_URL'],
    [{ ...providerEnv, PAYMENT_ACTION_URL: 'shop/{orderId}' }, 'PAYMENT_ACTION_URL'],
  ])('stops with a message naming the variable (%#: %s)', (env, variable) => {
    expect(() => loadProviderConfig(env)).toThrow(ConfigError);
    expect(() => loadProviderConfig(env)).toThrow(variable);
  });

  it.each([
    [{}, 'TRIGGER_API_KEYS'],
    [{ TRIGGER_API_KEYS: 'short' }, 'TRIGGER_API_KEYS'],
    [{ TRIGGER_API_KEYS: 'ask_12345678', PORT: 'http' }, 'PORT'],
    [{ TRIGGER_API_KEYS: 'ask_12345678', RATE_LIMIT_MAX: '0' }, 'RATE_LIMIT_MAX'],
    [{ TRIGGER_API_KEYS: 'ask_12345678', TEMPORAL_UI_URL: 'localhost:8233' }, 'TEMPORAL_UI_URL'],
    [{ TRIGGER_API_KEYS: 'ask_12345678', SHUTDOWN_GRACE_SECONDS: '-1' }, 'SHUTDOWN_GRACE_SECONDS'],
  ])('stops the API with a message naming the variable (%#: %s)', (env, variable) => {
    expect(() => loadApiConfig(env)).toThrow(variable);
  });

  it('rejects a malformed TEMPORAL_ADDRESS', () => {
    expect(() => loadTemporalConfig({ TEMPORAL_ADDRESS: 'http://localhost:7233' })).toThrow('TEMPORAL_ADDRESS');
  });
});

describe('tracing configuration (the standard OTEL_* variables)', () => {
  it('is off while OTEL_EXPORTER_OTLP_ENDPOINT is unset', () => {
    expect(loadApiTracingConfig({})).toBeUndefined();
    expect(loadWorkerTracingConfig({ OTEL_SERVICE_NAME: 'shop', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' })).toBeUndefined();
  });

  it('posts to the endpoint plus /v1/traces, in protobuf unless told http/json, as the service named', () => {
    expect(loadApiTracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' })).toEqual({
      tracesUrl: 'http://collector:4318/v1/traces',
      protocol: 'http/protobuf',
      serviceName: 'order-processing-api',
    });
    expect(
      loadWorkerTracingConfig({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'https://otel.example.com/ingest/',
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        OTEL_SERVICE_NAME: 'shop-orders',
      }),
    ).toEqual({ tracesUrl: 'https://otel.example.com/ingest/v1/traces', protocol: 'http/json', serviceName: 'shop-orders' });
    expect(loadWorkerTracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' })?.serviceName).toBe('order-processing-worker');
  });

  it('refuses gRPC and a malformed endpoint, naming the variable', () => {
    expect(() =>
      loadWorkerTracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4317', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }),
    ).toThrow(/OTEL_EXPORTER_OTLP_PROTOCOL must be http\/protobuf or http\/json .*got "grpc"/);
    expect(() => loadApiTracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' })).toThrow(ConfigError);
  });
});
