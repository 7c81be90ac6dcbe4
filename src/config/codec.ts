/** Payload encryption, read by every process that talks to Temporal: the worker, the API and the codec server. */
import { ConfigError, flag, optional, type Env } from './env.js';

/** One AES-256 key of TEMPORAL_CODEC_KEYS: its ID travels in each payload's metadata, the key never does. */
export interface CodecKey {
  id: string;
  key: Buffer;
}

/** Payload encryption: on with keys (the first encrypts, all decrypt), or off only when explicitly disabled. */
export type CodecConfig = { enabled: true; keys: CodecKey[] } | { enabled: false };

const CODEC_KEY_BYTES = 32;
const CODEC_KEY_COMMAND = `node -e "console.log(require('crypto').randomBytes(32).toString('base64'))"`;

/** Standard base64 (padding optional) that decodes to exactly what it says; Buffer.from alone skips bad characters. */
function decodeBase64(value: string): Buffer | undefined {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(value)) return undefined;
  const decoded = Buffer.from(value, 'base64');
  return decoded.toString('base64').replace(/=+$/, '') === value.replace(/=+$/, '') ? decoded : undefined;
}

/**
 * Required unless TEMPORAL_CODEC_DISABLED=true, so a forgotten variable can never store personal data in plain text.
 * Error messages name key IDs, never key material.
 */
export function loadCodecConfig(env: Env = process.env): CodecConfig {
  const disabled = flag(env, 'TEMPORAL_CODEC_DISABLED');
  const value = optional(env, 'TEMPORAL_CODEC_KEYS');
  if (disabled) {
    if (value !== undefined) {
      throw new ConfigError(
        'TEMPORAL_CODEC_DISABLED',
        'is "true" while TEMPORAL_CODEC_KEYS is set: remove one of them (runs encrypted earlier need the keys)',
      );
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
  for (const [index, entry] of value
    .split(',')
    .map((part) => part.trim())
    .entries()) {
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
    if (keys.some((known) => known.id === id))
      throw new ConfigError('TEMPORAL_CODEC_KEYS', `names the key ID "${id}" twice; key IDs must be unique`);
    keys.push({ id, key });
  }
  return { enabled: true, keys };
}
