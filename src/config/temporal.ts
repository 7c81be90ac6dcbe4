import { loadClientConnectConfig } from '@temporalio/envconfig';
import type { NativeConnectionOptions } from '@temporalio/worker';
import { ConfigError, optional, type Env } from './env.js';
import { DEFAULT_TASK_QUEUE } from '../workflows/names.js';

/** The local dev server's frontend, as `temporal server start-dev` serves it. */
export const DEFAULT_TEMPORAL_PORT = 7233;
export const DEFAULT_TEMPORAL_ADDRESS = `localhost:${DEFAULT_TEMPORAL_PORT}`;
export const DEFAULT_NAMESPACE = 'default';
/** The local dev server's Web UI: the API links runs to it, the codec server admits it by CORS. */
export const DEFAULT_TEMPORAL_UI_PORT = 8233;
export const DEFAULT_TEMPORAL_UI_URL = `http://localhost:${DEFAULT_TEMPORAL_UI_PORT}`;
export { DEFAULT_TASK_QUEUE };

export interface TemporalConfig {
  connection: NativeConnectionOptions;
  namespace: string;
  taskQueue: string;
}

/** The @temporalio/envconfig conventions (TEMPORAL_ADDRESS, _API_KEY, _TLS_*, _PROFILE...), so the CLI's settings work too. */
export function loadTemporalConfig(env: Env = process.env): TemporalConfig {
  let connect: ReturnType<typeof loadClientConnectConfig>;
  try {
    connect = loadClientConnectConfig({ overrideEnvVars: env as Record<string, string> });
  } catch (error) {
    throw new ConfigError('TEMPORAL_* / TEMPORAL_CONFIG_FILE', `could not be loaded (${(error as Error).message})`);
  }
  const address = connect.connectionOptions.address ?? DEFAULT_TEMPORAL_ADDRESS;
  if (!/^[^\s:/]+:\d+$/.test(address)) {
    throw new ConfigError('TEMPORAL_ADDRESS', `must be host:port, got "${address}"`);
  }
  return {
    connection: { ...connect.connectionOptions, address },
    namespace: connect.namespace ?? DEFAULT_NAMESPACE,
    taskQueue: optional(env, 'TEMPORAL_TASK_QUEUE') ?? DEFAULT_TASK_QUEUE,
  };
}
