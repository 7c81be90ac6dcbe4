/** The codec server's own settings: where it listens, which browser origins and which callers it admits. */
import { ConfigError, DEFAULT_HOST, flag, optional, port, url, type Env } from './env.js';
import { DEFAULT_TEMPORAL_UI_URL } from './temporal.js';

export const DEFAULT_CODEC_PORT = 8888;

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
 * It decrypts for whoever it trusts, so it refuses to start without CODEC_AUTH_TOKENS unless CODEC_AUTH_DISABLED=true says
 * that is intended (the local stack, or an authenticating proxy in front).
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
  const authTokens = (tokensValue ?? '')
    .split(',')
    .map((token) => token.trim())
    .filter((token) => token !== '');
  if (!authDisabled && (authTokens.length === 0 || authTokens.some((token) => !/^[\x21-\x7e]{16,512}$/.test(token)))) {
    throw new ConfigError('CODEC_AUTH_TOKENS', 'must hold tokens of 16 to 512 printable characters without spaces, separated by commas');
  }
  const corsOrigins = (optional(env, 'CODEC_CORS_ORIGIN') ?? DEFAULT_TEMPORAL_UI_URL)
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '')
    .map((entry) => origin('CODEC_CORS_ORIGIN', entry));
  return {
    port: port(env, 'CODEC_PORT', DEFAULT_CODEC_PORT),
    host: optional(env, 'CODEC_HOST') ?? DEFAULT_HOST,
    corsOrigins,
    authTokens,
  };
}
