import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

export interface JsonBodyOptions {
  /** For routes whose body fields are all optional: an empty body reads as `{}` (Fastify refuses it as JSON). */
  emptyBodyAsObject?: boolean;
}

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
 * JSON only (415 otherwise), through Fastify's prototype-poisoning-safe parser. Duplicate keys are refused: JSON.parse keeps
 * the last, so a proxy or log reading the first would disagree with what is charged ({"amount": 1, "amount": 99999999}).
 */
async function jsonBody(app: FastifyInstance, { emptyBodyAsObject = false }: JsonBodyOptions): Promise<void> {
  app.removeContentTypeParser('text/plain');
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body: string, done) => {
    if (emptyBodyAsObject && body.trim() === '') return done(null, {});
    // The default parser answers through `done`; it returns nothing to wait for.
    void parseJson(request, body, (error, value) => {
      const duplicate = error ? undefined : findDuplicateKey(body);
      if (duplicate === undefined) return done(error, value);
      const message = `Body names ${JSON.stringify(duplicate)} more than once in one object; send each key once`;
      done(Object.assign(new Error(message), { statusCode: 400 }), undefined);
    });
  });
}

export default fp(jsonBody, { name: 'json-body' });
