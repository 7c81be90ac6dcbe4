import { maxHeaderSize, STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';

/** The first key an object in `json` (well-formed: already parsed) names twice, if any. */
function findDuplicateKey(json: string): string | undefined {
  const objectKeys: (Set<string> | undefined)[] = [];
  // Strings are matched whole, so brackets inside them are skipped; a string followed by ':' is a key.
  for (const [token, key, colon] of json.matchAll(/"([^"\\]*(?:\\.[^"\\]*)*)"(\s*:)?|[{}[\]]/g)) {
    if (token === '{') objectKeys.push(new Set());
    else if (token === '[') objectKeys.push(undefined);
    else if (token === '}' || token === ']') objectKeys.pop();
    else if (colon) {
      const name = JSON.parse(`"${key}"`) as string;
      const keys = objectKeys.at(-1)!;
      if (keys.has(name)) return name;
      keys.add(name);
    }
  }
  return undefined;
}

/**
 * Errors Node's HTTP parser raises before Fastify sees a request (headers over the size limit, a
 * malformed request line): answered in the same body shape as every other error.
 */
export function answerClientError(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, code, message] =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'headers_too_large', `Request headers exceed ${maxHeaderSize} bytes; send shorter headers`]
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'request_timeout', 'The request was not received in time; send it again']
        : [400, 'bad_request', 'Malformed HTTP request'];
  const body = JSON.stringify({ error: { code, message } });
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(error);
}

/**
 * JSON bodies only (anything else is answered 415, never parsed as a string), parsed by Fastify's own
 * parser (which refuses `__proto__` and `constructor.prototype`) and refused when an object names a
 * key twice: JSON.parse keeps the last value, so a proxy or log reading the first would disagree with
 * what is charged ({"amount": 1, "amount": 99999999}). With `emptyBodyAsObject`, for routes whose
 * body fields are all optional, an empty body reads as `{}` (Fastify refuses it as JSON).
 */
export function acceptStrictJsonOnly(app: FastifyInstance, { emptyBodyAsObject = false } = {}): void {
  app.removeContentTypeParser('text/plain');
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body: string, done) => {
    if (emptyBodyAsObject && body.trim() === '') return done(null, {});
    parseJson(request, body, (error, value) => {
      const duplicate = error ? undefined : findDuplicateKey(body);
      if (duplicate === undefined) return done(error, value);
      const message = `Body names ${JSON.stringify(duplicate)} more than once in one object; send each key once`;
      done(Object.assign(new Error(message), { statusCode: 400 }), undefined);
    });
  });
}
