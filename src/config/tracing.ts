/** OpenTelemetry tracing of the worker and the API, by the standard OTEL_* variables only; off when the endpoint is unset. */
import { ConfigError, optional, url, type Env } from './env.js';

export type OtlpProtocol = 'http/protobuf' | 'http/json';
const OTLP_PROTOCOLS: readonly OtlpProtocol[] = ['http/protobuf', 'http/json'];

export interface TracingConfig {
  /** Where spans are posted: OTEL_EXPORTER_OTLP_ENDPOINT with the traces path, `/v1/traces`, appended. */
  tracesUrl: string;
  protocol: OtlpProtocol;
  /** OTEL_SERVICE_NAME, else the process's own name (`order-processing-worker`, `order-processing-api`). */
  serviceName: string;
}

/** The traces path the OTLP/HTTP specification appends to OTEL_EXPORTER_OTLP_ENDPOINT. */
const TRACES_PATH = 'v1/traces';

/** The `service.name` of each process's spans unless OTEL_SERVICE_NAME says otherwise. */
export const DEFAULT_WORKER_SERVICE_NAME = 'order-processing-worker';
export const DEFAULT_API_SERVICE_NAME = 'order-processing-api';

/** The worker's tracing: see `tracingConfig`. */
export function loadWorkerTracingConfig(env: Env = process.env): TracingConfig | undefined {
  return tracingConfig(env, DEFAULT_WORKER_SERVICE_NAME);
}

/** The API's tracing: see `tracingConfig`. */
export function loadApiTracingConfig(env: Env = process.env): TracingConfig | undefined {
  return tracingConfig(env, DEFAULT_API_SERVICE_NAME);
}

/** OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_PROTOCOL (default http/protobuf, as the specification says) and OTEL_SERVICE_NAME. */
function tracingConfig(env: Env, defaultServiceName: string): TracingConfig | undefined {
  const endpoint = optional(env, 'OTEL_EXPORTER_OTLP_ENDPOINT');
  if (endpoint === undefined) return undefined;
  const base = url('OTEL_EXPORTER_OTLP_ENDPOINT', endpoint);
  const protocol = optional(env, 'OTEL_EXPORTER_OTLP_PROTOCOL') ?? 'http/protobuf';
  if (!OTLP_PROTOCOLS.includes(protocol as OtlpProtocol)) {
    throw new ConfigError(
      'OTEL_EXPORTER_OTLP_PROTOCOL',
      `must be ${OTLP_PROTOCOLS.join(' or ')} (OTLP over HTTP; grpc is not supported), got "${protocol}"`,
    );
  }
  return {
    tracesUrl: new URL(TRACES_PATH, base.href.endsWith('/') ? base : `${base.href}/`).href,
    protocol: protocol as OtlpProtocol,
    serviceName: optional(env, 'OTEL_SERVICE_NAME') ?? defaultServiceName,
  };
}
