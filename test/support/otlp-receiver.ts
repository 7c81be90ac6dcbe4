/**
 * An OTLP/HTTP trace receiver on a real port, as a collector would run it: `POST /v1/traces` in
 * `application/x-protobuf` or `application/json`, both read into one shape for assertions.
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import protobuf from 'protobufjs';

export interface ReceivedSpan {
  serviceName: string;
  /** Which encoding the span arrived in. */
  protocol: 'http/protobuf' | 'http/json';
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  attributes: Record<string, string | number | boolean>;
  status: { code: number; message: string };
  events: { name: string; attributes: Record<string, string | number | boolean> }[];
}

export interface OtlpReceiver {
  /** For OTEL_EXPORTER_OTLP_ENDPOINT (the exporters add /v1/traces). */
  endpoint: string;
  spans: ReceivedSpan[];
  /** The raw bodies as received, decoded to JSON: for checks over everything a span carries. */
  rawRequests: unknown[];
  close(): Promise<void>;
}

// The part of opentelemetry/proto/collector/trace/v1 and trace/v1 the tests read (field numbers as published).
const OTLP_TRACE_PROTO = `
syntax = "proto3";
message ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }
message ResourceSpans { Resource resource = 1; repeated ScopeSpans scope_spans = 2; }
message Resource { repeated KeyValue attributes = 1; }
message ScopeSpans { repeated Span spans = 2; }
message Span {
  bytes trace_id = 1; bytes span_id = 2; bytes parent_span_id = 4; string name = 5;
  repeated KeyValue attributes = 9; repeated Event events = 11; Status status = 15;
}
message Event { string name = 2; repeated KeyValue attributes = 3; }
message Status { string message = 2; int32 code = 3; }
message KeyValue { string key = 1; AnyValue value = 2; }
message AnyValue { oneof value { string string_value = 1; bool bool_value = 2; int64 int_value = 3; double double_value = 4; } }
`;
const ExportTraceServiceRequest = protobuf.parse(OTLP_TRACE_PROTO, { keepCase: false }).root.lookupType('ExportTraceServiceRequest');

type AnyValue = { stringValue?: string; boolValue?: boolean; intValue?: string | number; doubleValue?: number };
type KeyValue = { key: string; value?: AnyValue };
interface ExportRequest {
  resourceSpans?: {
    resource?: { attributes?: KeyValue[] };
    scopeSpans?: {
      spans?: {
        traceId: string;
        spanId: string;
        parentSpanId?: string;
        name: string;
        attributes?: KeyValue[];
        events?: { name: string; attributes?: KeyValue[] }[];
        status?: { code?: number; message?: string };
      }[];
    }[];
  }[];
}

function attributesOf(list: KeyValue[] = []): Record<string, string | number | boolean> {
  return Object.fromEntries(
    list.map(({ key, value = {} }) => [
      key,
      value.stringValue ?? value.boolValue ?? (value.intValue !== undefined ? Number(value.intValue) : (value.doubleValue ?? '')),
    ]),
  );
}

async function bodyOf(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Protobuf, with the IDs written as the JSON encoding writes them: lowercase hex. */
function decodeProtobuf(body: Buffer): ExportRequest {
  const decoded = ExportTraceServiceRequest.toObject(ExportTraceServiceRequest.decode(body), { longs: String }) as ExportRequest;
  const hex = (bytes?: unknown) => (bytes instanceof Uint8Array ? Buffer.from(bytes).toString('hex') : '');
  for (const span of (decoded.resourceSpans ?? []).flatMap(({ scopeSpans = [] }) => scopeSpans.flatMap(({ spans = [] }) => spans))) {
    Object.assign(span, { traceId: hex(span.traceId), spanId: hex(span.spanId), parentSpanId: hex(span.parentSpanId) });
  }
  return decoded;
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const rawRequests: unknown[] = [];
  const server = createServer((request, response) => {
    void (async () => {
      const body = await bodyOf(request);
      const json = request.headers['content-type']?.startsWith('application/json');
      if (request.method !== 'POST' || request.url !== '/v1/traces') {
        response.writeHead(404).end();
        return;
      }
      const decoded: ExportRequest = json ? (JSON.parse(body.toString('utf8')) as ExportRequest) : decodeProtobuf(body);
      rawRequests.push(decoded);
      for (const { resource, scopeSpans = [] } of decoded.resourceSpans ?? []) {
        const serviceName = String(attributesOf(resource?.attributes)['service.name']);
        for (const span of scopeSpans.flatMap((scope) => scope.spans ?? [])) {
          spans.push({
            serviceName,
            protocol: json ? 'http/json' : 'http/protobuf',
            traceId: span.traceId,
            spanId: span.spanId,
            parentSpanId: span.parentSpanId ?? '',
            name: span.name,
            attributes: attributesOf(span.attributes),
            status: { code: span.status?.code ?? 0, message: span.status?.message ?? '' },
            events: (span.events ?? []).map((event) => ({ name: event.name, attributes: attributesOf(event.attributes) })),
          });
        }
      }
      // An empty ExportTraceServiceResponse: full success.
      if (json) response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      else response.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    spans,
    rawRequests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
