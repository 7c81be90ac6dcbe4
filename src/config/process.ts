/** Settings the worker and the API (LOG_LEVEL: the codec server too) read the same way. */
import { isIP } from 'node:net';
import { ConfigError, DEFAULT_HOST, optional, port, positiveInteger, type Env } from './env.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];
export const DEFAULT_LOG_LEVEL: LogLevel = 'info';
export const DEFAULT_SHUTDOWN_GRACE_SECONDS = 10;

/** LOG_LEVEL of the worker, the API and the codec server. */
export function loadLogLevel(env: Env = process.env): LogLevel {
  const value = (optional(env, 'LOG_LEVEL') ?? DEFAULT_LOG_LEVEL).toLowerCase();
  if (!LOG_LEVELS.includes(value as LogLevel))
    throw new ConfigError('LOG_LEVEL', `must be one of ${LOG_LEVELS.join(', ')}, got "${value}"`);
  return value as LogLevel;
}

/** SHUTDOWN_GRACE_SECONDS: how long a stopping process lets in-flight work (requests, activities) finish. */
export function shutdownGraceMs(env: Env): number {
  return positiveInteger(env, 'SHUTDOWN_GRACE_SECONDS', DEFAULT_SHUTDOWN_GRACE_SECONDS) * 1000;
}

/** Where a process serves its Prometheus metrics (`GET http://<host>:<port>/metrics`). */
export interface MetricsEndpoint {
  host: string;
  port: number;
}

/**
 * The host must be an IP address: the worker's metrics exporter binds a socket address, not a hostname. Port 0 is refused:
 * Prometheus must know the port in advance.
 */
export function metricsEndpoint(env: Env, portVariable: string, defaultPort: number): MetricsEndpoint {
  const host = optional(env, 'METRICS_HOST') ?? DEFAULT_HOST;
  if (isIP(host) === 0) {
    throw new ConfigError('METRICS_HOST', `must be an IP address to bind, e.g. 127.0.0.1 or 0.0.0.0 (all interfaces), got "${host}"`);
  }
  const metricsPort = port(env, portVariable, defaultPort);
  if (metricsPort === 0) {
    throw new ConfigError(portVariable, 'must be a port number between 1 and 65535 (Prometheus must know where to scrape), got "0"');
  }
  return { host, port: metricsPort };
}
