import { isIPv6 } from 'node:net';
import type { MetricsEndpoint } from '../config/process.js';

/** `host:port`, with an IPv6 host in brackets (`[::]:9464`). */
export function hostPort({ host, port }: MetricsEndpoint): string {
  return isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
}

export function scrapeUrl(endpoint: MetricsEndpoint): string {
  return `http://${hostPort(endpoint)}/metrics`;
}
