/**
 * The project's Temporal dynamic config (temporal-dynamic-config.yaml), one file for every server it runs:
 * compose and `npm run cluster` point the server at it; the dev server of `npm start`, the tests and the
 * benchmark gets each setting as a `--dynamic-config-value` flag.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

export const DYNAMIC_CONFIG_FILE = 'temporal-dynamic-config.yaml';
export const DYNAMIC_CONFIG_PATH = join(fileURLToPath(new URL('..', import.meta.url)), DYNAMIC_CONFIG_FILE);

/** Each setting's value, from the file's text; a setting with constraints (per namespace, per queue) is refused. */
export function dynamicConfigValues(text: string): Map<string, unknown> {
  const document: unknown = parse(text);
  if (document === null || typeof document !== 'object' || Array.isArray(document))
    throw new Error(`${DYNAMIC_CONFIG_FILE}: expected a map of settings`);
  const values = new Map<string, unknown>();
  for (const [key, entries] of Object.entries(document)) {
    const [entry, ...more] = Array.isArray(entries) ? (entries as unknown[]) : [];
    const isPlain = (candidate: unknown): candidate is { value: unknown } =>
      candidate !== null && typeof candidate === 'object' && Object.keys(candidate).join() === 'value';
    // The dev server takes one value per key for every namespace and queue: constraints cannot be passed on.
    if (more.length > 0 || !isPlain(entry))
      throw new Error(`${DYNAMIC_CONFIG_FILE}: ${key} must hold exactly one "- value:" entry without constraints`);
    values.set(key, entry.value);
  }
  return values;
}

/** The dev server's flags for the file's settings: `--dynamic-config-value key=<JSON value>` each. */
export function devServerDynamicConfigArgs(text = readFileSync(DYNAMIC_CONFIG_PATH, 'utf8')): string[] {
  return [...dynamicConfigValues(text)].flatMap(([key, value]) => ['--dynamic-config-value', `${key}=${JSON.stringify(value)}`]);
}
