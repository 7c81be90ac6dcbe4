import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { loadCodecConfig } from '../../src/config/codec.js';
import { loadCodecServerConfig } from '../../src/config/codec-server.js';
import { ConfigError } from '../../src/config/env.js';

const key = (bytes = 32) => randomBytes(bytes).toString('base64');

function configError(load: () => unknown): ConfigError {
  try {
    load();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('TEMPORAL_CODEC_KEYS', () => {
  it('reads keyId:base64key entries in order: the first encrypts, all decrypt', () => {
    const [first, second] = [randomBytes(32), randomBytes(32)];
    const config = loadCodecConfig({
      TEMPORAL_CODEC_KEYS: ` k2026:${first.toString('base64')} , k2025:${second.toString('base64').replace(/=+$/, '')}`,
    });
    expect(config).toEqual({
      enabled: true,
      keys: [
        { id: 'k2026', key: first },
        { id: 'k2025', key: second },
      ],
    });
  });

  it('is required unless encryption is explicitly disabled, and says how to get a key', () => {
    const error = configError(() => loadCodecConfig({}));
    expect(error.message).toContain('TEMPORAL_CODEC_KEYS');
    expect(error.message).toContain("randomBytes(32).toString('base64')");
    expect(error.message).toContain('TEMPORAL_CODEC_DISABLED=true');
    expect(loadCodecConfig({ TEMPORAL_CODEC_DISABLED: 'true' })).toEqual({ enabled: false });
    expect(() => loadCodecConfig({ TEMPORAL_CODEC_DISABLED: 'false' })).toThrow(/TEMPORAL_CODEC_KEYS is required/);
  });

  it('refuses keys that are not 32 bytes, naming the key but never printing it', () => {
    const short = key(16);
    const error = configError(() => loadCodecConfig({ TEMPORAL_CODEC_KEYS: `k1:${key()},short:${short}` }));
    expect(error.message).toMatch(/TEMPORAL_CODEC_KEYS key "short" must decode to 32 bytes \(AES-256\), got 16/);
    expect(error.message).not.toContain(short);
  });

  it('refuses malformed base64 rather than decoding what it can', () => {
    for (const bad of ['not base64!', `${key().slice(0, 20)}*${key().slice(21)}`, `${key()}===`]) {
      const error = configError(() => loadCodecConfig({ TEMPORAL_CODEC_KEYS: `k1:${bad}` }));
      expect(error.message).toContain('TEMPORAL_CODEC_KEYS key "k1" is not valid base64');
    }
  });

  it('refuses duplicate key IDs and entries without an ID', () => {
    expect(configError(() => loadCodecConfig({ TEMPORAL_CODEC_KEYS: `k1:${key()},k1:${key()}` })).message).toContain(
      'names the key ID "k1" twice',
    );
    for (const bad of [key(), `:${key()}`, `k1:${key()},`, `bad id:${key()}`]) {
      expect(configError(() => loadCodecConfig({ TEMPORAL_CODEC_KEYS: bad })).message).toMatch(
        /TEMPORAL_CODEC_KEYS entry \d must be keyId:base64key/,
      );
    }
  });

  it('refuses to be disabled while keys are set, and accepts only true or false', () => {
    expect(configError(() => loadCodecConfig({ TEMPORAL_CODEC_DISABLED: 'true', TEMPORAL_CODEC_KEYS: `k1:${key()}` })).message).toContain(
      'TEMPORAL_CODEC_DISABLED is "true" while TEMPORAL_CODEC_KEYS is set',
    );
    expect(configError(() => loadCodecConfig({ TEMPORAL_CODEC_DISABLED: 'yes' })).message).toContain(
      'TEMPORAL_CODEC_DISABLED must be "true" or "false"',
    );
  });
});

describe('codec server configuration', () => {
  const tokens = 'codec-token-0123456789,codec-token-abcdefghij';

  it('defaults to 127.0.0.1:8888 and the dev server Web UI origin', () => {
    expect(loadCodecServerConfig({ CODEC_AUTH_TOKENS: tokens })).toEqual({
      port: 8888,
      host: '127.0.0.1',
      corsOrigins: ['http://localhost:8233'],
      authTokens: ['codec-token-0123456789', 'codec-token-abcdefghij'],
    });
    expect(
      loadCodecServerConfig({
        CODEC_AUTH_TOKENS: tokens,
        CODEC_PORT: '9999',
        CODEC_HOST: '0.0.0.0',
        CODEC_CORS_ORIGIN: 'https://temporal.example.com, http://localhost:8080/',
      }),
    ).toMatchObject({ port: 9999, host: '0.0.0.0', corsOrigins: ['https://temporal.example.com', 'http://localhost:8080'] });
  });

  it('requires tokens unless authentication is explicitly disabled', () => {
    expect(configError(() => loadCodecServerConfig({})).message).toContain('CODEC_AUTH_TOKENS is required');
    expect(loadCodecServerConfig({ CODEC_AUTH_DISABLED: 'true' }).authTokens).toEqual([]);
    expect(configError(() => loadCodecServerConfig({ CODEC_AUTH_DISABLED: 'true', CODEC_AUTH_TOKENS: tokens })).message).toContain(
      'CODEC_AUTH_DISABLED',
    );
    expect(configError(() => loadCodecServerConfig({ CODEC_AUTH_TOKENS: 'short' })).message).toContain(
      'CODEC_AUTH_TOKENS must hold tokens of 16',
    );
  });

  it('refuses origins with a path and ports out of range', () => {
    expect(
      configError(() => loadCodecServerConfig({ CODEC_AUTH_TOKENS: tokens, CODEC_CORS_ORIGIN: 'http://localhost:8233/ui' })).message,
    ).toContain('CODEC_CORS_ORIGIN');
    expect(configError(() => loadCodecServerConfig({ CODEC_AUTH_TOKENS: tokens, CODEC_CORS_ORIGIN: 'localhost:8233' })).message).toContain(
      'CODEC_CORS_ORIGIN',
    );
    expect(configError(() => loadCodecServerConfig({ CODEC_AUTH_TOKENS: tokens, CODEC_PORT: '70000' })).message).toContain('CODEC_PORT');
  });
});
