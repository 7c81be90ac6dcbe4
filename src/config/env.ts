/** The parsing helpers every process's configuration shares, and the error that stops a process on a bad variable. */

/** A missing or malformed environment variable: names it and says what is expected. */
export class ConfigError extends Error {
  constructor(variable: string, expected: string) {
    super(`Configuration error: ${variable} ${expected}. See .env.example for every variable.`);
    this.name = 'ConfigError';
  }
}

export type Env = Record<string, string | undefined>;

/** Where a process listens unless told otherwise: this machine only. */
export const DEFAULT_HOST = '127.0.0.1';

export function optional(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value ? value : undefined;
}

export function required(env: Env, name: string, expected: string): string {
  const value = optional(env, name);
  if (value === undefined) throw new ConfigError(name, `is required: ${expected}`);
  return value;
}

export function url(name: string, value: string): URL {
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

export function port(env: Env, name: string, fallback: number): number {
  const value = optional(env, name);
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0 || parsed > 65535) {
    throw new ConfigError(name, `must be a port number between 0 and 65535, got "${value}"`);
  }
  return parsed;
}

export function positiveInteger(env: Env, name: string, fallback: number): number {
  const value = optional(env, name);
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1) throw new ConfigError(name, `must be a positive integer, got "${value}"`);
  return parsed;
}

export function flag(env: Env, name: string): boolean {
  const value = optional(env, name)?.toLowerCase();
  if (value === undefined || value === 'false') return false;
  if (value === 'true') return true;
  throw new ConfigError(name, `must be "true" or "false", got "${value}"`);
}
