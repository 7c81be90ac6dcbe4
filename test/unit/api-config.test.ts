import { describe, expect, it } from 'vitest';
import { loadApiConfig } from '../../src/config/api.js';
import { ConfigError } from '../../src/config/env.js';

const apiEnv = { TRIGGER_API_KEYS: 'ask_12345678' };

describe("the API's webhook configuration", () => {
  it('runs without STRIPE_WEBHOOK_SECRET (the webhook answers 503) and limits webhooks to 1200 a minute per IP by default', () => {
    const config = loadApiConfig(apiEnv);
    expect(config.stripeWebhookSecret).toBeUndefined();
    expect(config.webhookRateLimit).toEqual({ max: 1200, windowMs: 60_000 });
    expect(loadApiConfig({ ...apiEnv, STRIPE_WEBHOOK_SECRET: ' ' }).stripeWebhookSecret).toBeUndefined();
  });

  it('reads STRIPE_WEBHOOK_SECRET and WEBHOOK_RATE_LIMIT_MAX', () => {
    const config = loadApiConfig({ ...apiEnv, STRIPE_WEBHOOK_SECRET: 'whsec_abc123', WEBHOOK_RATE_LIMIT_MAX: '50' });
    expect(config.stripeWebhookSecret).toBe('whsec_abc123');
    expect(config.webhookRateLimit).toEqual({ max: 50, windowMs: 60_000 });
  });

  it.each([
    [{ STRIPE_WEBHOOK_SECRET: 'sk_test_123' }, 'STRIPE_WEBHOOK_SECRET'],
    [{ STRIPE_WEBHOOK_SECRET: 'whsec_' }, 'STRIPE_WEBHOOK_SECRET'],
    [{ STRIPE_WEBHOOK_SECRET: 'whsec_abc def' }, 'STRIPE_WEBHOOK_SECRET'],
    [{ WEBHOOK_RATE_LIMIT_MAX: '0' }, 'WEBHOOK_RATE_LIMIT_MAX'],
    [{ WEBHOOK_RATE_LIMIT_MAX: 'lots' }, 'WEBHOOK_RATE_LIMIT_MAX'],
  ])('stops the API with a message naming the variable (%#: %s)', (env, variable) => {
    expect(() => loadApiConfig({ ...apiEnv, ...env })).toThrow(ConfigError);
    expect(() => loadApiConfig({ ...apiEnv, ...env })).toThrow(variable);
  });

  it('never puts the secret in its error message', () => {
    expect(() => loadApiConfig({ ...apiEnv, STRIPE_WEBHOOK_SECRET: 'sk_live_do_not_echo' })).toThrow(/whsec_/);
    expect(() => loadApiConfig({ ...apiEnv, STRIPE_WEBHOOK_SECRET: 'sk_live_do_not_echo' })).not.toThrow(/do_not_echo/);
  });
});
