/**
 * "Prove it: hostile input", in process. Whatever a client sends to the order trigger, the API answers
 * 4xx in the one error shape (naming the field when an order is invalid), asks Temporal to start
 * nothing and stays up. The app runs on the real Temporal client talking to the stand-in frontend,
 * which records every request; it listens on a loopback port for what only a socket shows (Node's
 * header limit, chunked bodies) and takes the volume through inject(). The same input sent through a
 * real stack, and Parse Order refusing it inside a run, are in test/e2e/hostile-input.test.ts.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import Stripe from 'stripe';
import { buildApp, STRIPE_WEBHOOK_PATH, TRIGGER_PATH } from '../../../src/api/app.js';
import type { ErrorBody } from '../../../src/http/error-reply.js';
import { MAX_AMOUNT } from '../../../src/domain/validate-order.js';
import { ORDER_WORKFLOW_TYPE } from '../../../src/workflows/names.js';
import { sampleOrder, uniqueOrderId } from '../../support/orders.js';
import { TemporalStandIn } from '../../support/temporal-stand-in.js';
import { chunkedBody } from '../../support/chunked-body.js';

const API_KEY = 'ask_hostile_key_0001';
const OTHER_KEY = 'ask_hostile_key_0002';
const WEBHOOK_SECRET = 'whsec_hostile_0001';
/** Bounded so the whole file stays within a few seconds. */
const RUNS = { numRuns: 250 };
const STRING_FIELDS = ['orderId', 'customerId', 'currency', 'email'] as const;
const REQUIRED_FIELDS = ['orderId', 'customerId', 'amount', 'email'] as const;
const PROTOTYPE_KEYS = ['__proto__', 'constructor', 'prototype'] as const;

const temporal = new TemporalStandIn();
let app: FastifyInstance;
let baseUrl: string;

beforeAll(async () => {
  // Thousands of requests in seconds: far above the production rate limit, which is tested in hardening.test.ts.
  app = buildApp({
    client: temporal.client(),
    taskQueue: 'order-processing-unit',
    triggerApiKeys: [OTHER_KEY, API_KEY],
    rateLimit: { max: 1_000_000, windowMs: 60_000 },
    webhookRateLimit: { max: 1_000_000, windowMs: 60_000 },
    stripeWebhookSecret: WEBHOOK_SECRET,
  });
  baseUrl = await app.listen({ port: 0, host: '127.0.0.1' });
});
afterAll(async () => {
  await app?.close();
});

/** Temporal was asked to start no run and to signal none. */
function expectNothingStarted(): void {
  expect(temporal.received('StartWorkflowExecution')).toEqual([]);
  expect(temporal.received('SignalWorkflowExecution')).toEqual([]);
}

// ---------------------------------------------------------------------------------------------
// Sending requests and checking the invariants every answer must hold
// ---------------------------------------------------------------------------------------------

type RequestBody = string | Uint8Array | (() => ReadableStream<Uint8Array>);
/** Headers over the defaults (a valid key, JSON); `undefined` leaves a header out. */
type HeaderOverrides = Record<string, string | undefined>;

/** What the server answered, whether over a real socket or through inject(). */
interface Answer {
  status: number;
  headers: Record<string, string | string[] | number | undefined>;
  text: string;
}

type Transport = (body: RequestBody, headers: Record<string, string>) => Promise<Answer>;

async function overHttp(body: RequestBody, headers: Record<string, string>): Promise<Answer> {
  const streamed = typeof body === 'function';
  const response = await fetch(`${baseUrl}${TRIGGER_PATH}`, {
    method: 'POST',
    headers,
    body: streamed ? body() : body,
    // Node's fetch needs this to stream a body of unknown length (chunked).
    ...(streamed && { duplex: 'half' }),
  });
  return { status: response.status, headers: Object.fromEntries(response.headers.entries()), text: await response.text() };
}

/** In-process, for volume; skips the socket (and so Node's header-size limit). */
async function injected(body: RequestBody, headers: Record<string, string>): Promise<Answer> {
  if (typeof body === 'function') throw new Error('inject() takes no streamed bodies: send those over HTTP');
  const response = await app.inject({
    method: 'POST',
    url: TRIGGER_PATH,
    headers,
    payload: typeof body === 'string' ? body : Buffer.from(body),
  });
  return { status: response.statusCode, headers: response.headers, text: response.body };
}

function withDefaults(overrides: HeaderOverrides): Record<string, string> {
  const headers = { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json', ...overrides };
  return Object.fromEntries(Object.entries(headers).filter((entry): entry is [string, string] => entry[1] !== undefined));
}

interface Expected {
  status?: number;
  code?: string;
  field?: string;
}

/** Sends one hostile request and checks what every answer to one must hold; returns the error. */
async function sendHostile(
  transport: Transport,
  body: RequestBody,
  headers: HeaderOverrides = {},
  expected: Expected = {},
): Promise<ErrorBody['error']> {
  const before = temporal.requests.length;
  const answer = await transport(body, withDefaults(headers));
  const context = `${answer.status} ${answer.text.slice(0, 300)}`;

  // Refused by the client's fault: never accepted (2xx), never a server error (5xx).
  expect(answer.status, context).toBeGreaterThanOrEqual(400);
  expect(answer.status, context).toBeLessThan(500);
  expect(answer.headers['content-type'], context).toMatch(/^application\/json/);
  expect(answer.headers['x-injected'], 'a CRLF in the input became a response header').toBeUndefined();

  const parsed = JSON.parse(answer.text) as ErrorBody;
  expect(Object.keys(parsed), context).toEqual(['error']);
  const { error } = parsed;
  expect(error, context).toEqual({
    code: expect.any(String),
    message: expect.any(String),
    ...(error.details !== undefined && { details: expect.any(Object) }),
  });
  if (error.code === 'invalid_order' || error.code === 'invalid_request') {
    const field = error.details?.field;
    expect(field, context).toEqual(expect.any(String));
    expect(error.message, context).toContain(field);
    if (error.code === 'invalid_order') expect(field, context).toMatch(/^params/);
  }
  if (expected.status !== undefined) expect(answer.status, context).toBe(expected.status);
  if (expected.code !== undefined) expect(error.code, context).toBe(expected.code);
  if (expected.field !== undefined) expect(error.details?.field, context).toBe(expected.field);

  // The server runs in this process: a prototype key in the input must not have reached Object.prototype.
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  // Nothing was started: the API refuses before it asks Temporal anything.
  expect(temporal.requests.slice(before), context).toEqual([]);
  return error;
}

// ---------------------------------------------------------------------------------------------
// Building orders and bodies
// ---------------------------------------------------------------------------------------------

/** A valid order under a fresh ID, with `overrides` applied (an `undefined` value drops the field). */
function hostileOrder(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { ...sampleOrder({ orderId: uniqueOrderId('hostile') }), ...overrides };
}

function triggerBody(params: unknown): string {
  return JSON.stringify({ connectionId: 'conn_hostile', params });
}

/** A valid body whose `field` value is replaced by raw JSON text (for what JSON.stringify cannot write). */
function bodyWithRawField(field: string, rawValue: string): string {
  const placeholder = '\u0001placeholder\u0001';
  return triggerBody(hostileOrder({ [field]: placeholder })).replace(JSON.stringify(placeholder), rawValue);
}

function nestedArrays(depth: number): string {
  return '['.repeat(depth) + ']'.repeat(depth);
}

function nestedObjects(depth: number): string {
  return '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
}

function bigBody(bytes: number): string {
  return triggerBody(hostileOrder({ padding: 'x'.repeat(bytes) }));
}

// ---------------------------------------------------------------------------------------------
// Arbitraries
// ---------------------------------------------------------------------------------------------

/** JSON without prototype keys: those are refused by the body parser before any field is looked at (covered below). */
const plainJson = fc.jsonValue({ maxDepth: 3 }).filter((value) => !/"(__proto__|constructor)":/.test(JSON.stringify(value) ?? ''));
const notAString = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(plainJson, { maxLength: 3 }),
  fc.dictionary(fc.string(), plainJson, { maxKeys: 3 }).filter((value) => !/"(__proto__|constructor)":/.test(JSON.stringify(value))),
);
const notANumber = fc.oneof(
  fc.string(),
  fc.integer().map(String),
  fc.boolean(),
  fc.constant(null),
  fc.array(plainJson, { maxLength: 3 }),
  fc.record({ value: fc.integer() }),
);

/** One field of an otherwise valid order given a value of the wrong type, or left out. */
const wrongTypeField = fc.oneof(
  fc.record({ field: fc.constantFrom(...STRING_FIELDS), value: notAString }),
  fc.record({ field: fc.constant('amount'), value: notANumber }),
  fc.record({ field: fc.constantFrom(...REQUIRED_FIELDS), value: fc.constant(undefined) }),
);

/** Raw JSON text for an amount that must be refused: JSON that is no valid amount, or not JSON at all. */
const hostileAmountText = fc.oneof(
  fc.integer({ max: 0 }).map(String),
  fc.double({ noInteger: true }).map((value) => JSON.stringify(value)),
  fc.integer({ min: MAX_AMOUNT + 1 }).map(String),
  // Integers past Number.MAX_SAFE_INTEGER, up to 400 digits (JSON.parse makes those Infinity).
  fc.bigInt({ min: BigInt(Number.MAX_SAFE_INTEGER) + 1n, max: 10n ** 400n }).map(String),
  fc.constantFrom(
    '1e308',
    '-1e308',
    '1e309',
    '-1e309',
    '1E8',
    '100000000',
    '99999999.5',
    '9007199254740993',
    '-0',
    '0',
    '0.0',
    '5e-324',
    'NaN',
    '-NaN',
    'Infinity',
    '-Infinity',
    '0x10',
    '1_000',
    '+1',
    '.5',
    '4999n',
    '"4999"',
    '"NaN"',
    '"Infinity"',
    '"1e3"',
    'true',
    '[4999]',
    '{"value":4999}',
    'null',
    '""',
  ),
);

/** Currencies that are not a 3-letter ISO 4217 code, by the same list the runtime knows. */
const ISO_CURRENCIES = new Set(Intl.supportedValuesOf('currency').map((code) => code.toLowerCase()));
const hostileCurrency = fc.oneof(
  fc.string().filter((value) => !(/^[A-Za-z]{3}$/.test(value) && ISO_CURRENCIES.has(value.toLowerCase()))),
  fc.constantFrom('', 'US', 'usdd', 'u$d', ' usd', 'usd ', 'usd\u0000', 'usd\u200b', 'ＵＳＤ', 'ůsd', 'US\u0110', 'xyz', '€', '$'),
);

/** Characters no ID or email may hold: controls, zero-width and bidi overrides, lookalikes, lone surrogates, any non-ASCII. */
const hostileChar = fc.oneof(
  fc.constantFrom(
    ' ',
    '\u0000',
    '\u0007',
    '\b',
    '\t',
    '\n',
    '\r',
    '\u001b',
    '\u007f',
    '\u0085',
    '\u00a0',
    '\u200b',
    '\u200c',
    '\u200d',
    '\u2060',
    '\ufeff',
    '\u202a',
    '\u202b',
    '\u202d',
    '\u202e',
    '\u2066',
    '\u2067',
    '\u2068',
    '\u2069',
    '\u2028',
    '\u2029',
    '\ud800',
    '\udfff',
    'е',
    'ａ',
    '＠',
    '🙂',
  ),
  fc.integer({ min: 0, max: 0x1f }).map((code) => String.fromCharCode(code)),
  fc.integer({ min: 0x80, max: 0x10ffff }).map((code) => String.fromCodePoint(code)),
);
const hostileTextField = fc.record({
  field: fc.constantFrom('orderId', 'customerId', 'email'),
  insert: fc.string({ unit: hostileChar, minLength: 1, maxLength: 4 }),
  at: fc.nat(),
});

/** A body carrying a prototype key at the top, inside params, or inside a field's value; raw text so `__proto__` is an own key. */
const prototypeKeyBody = fc
  .record({
    key: fc.constantFrom(...PROTOTYPE_KEYS),
    value: fc.constantFrom(
      '{"polluted":true}',
      '{"prototype":{"polluted":true}}',
      '{"__proto__":{"polluted":true}}',
      '1',
      '"x"',
      'null',
      '[]',
    ),
    where: fc.constantFrom('top', 'params', 'field'),
    field: fc.constantFrom(...STRING_FIELDS, 'amount'),
  })
  .map(({ key, value, where, field }) => {
    const member = `${JSON.stringify(key)}:${value}`;
    if (where === 'field') return bodyWithRawField(field, `{${member}}`);
    const params = JSON.stringify(hostileOrder());
    if (where === 'params') return `{"params":{${member},${params.slice(1)}}`;
    return `{${member},"params":${params}}`;
  });

/** Authorization keys that almost match a valid one: a prefix, an extension, one character changed, another case. */
const nearMissKey = fc
  .oneof(
    fc.nat({ max: API_KEY.length - 1 }).map((length) => API_KEY.slice(0, length)),
    fc.string({ minLength: 1, maxLength: 8 }).map((tail) => API_KEY + tail),
    fc
      .record({ at: fc.nat({ max: API_KEY.length - 1 }), char: fc.string({ minLength: 1, maxLength: 1 }) })
      .map(({ at, char }) => API_KEY.slice(0, at) + char + API_KEY.slice(at + 1)),
    fc.constant(API_KEY.toUpperCase()),
    fc.constant(`${API_KEY},${OTHER_KEY}`),
  )
  .filter((key) => key !== API_KEY && key !== OTHER_KEY);

/** Bodies of any shape: text and bytes that are not JSON, JSON that is not a trigger, truncated triggers, a bad connectionId. */
const arbitraryBody: fc.Arbitrary<RequestBody> = fc.oneof(
  fc.string({ unit: 'binary' }),
  fc.uint8Array({ maxLength: 200 }),
  fc.jsonValue().map((value) => JSON.stringify(value) ?? ''),
  fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }).map((value) => JSON.stringify(value)),
  // Every proper prefix of a valid body is malformed JSON.
  fc.nat().map((cut) => {
    const body = triggerBody(hostileOrder());
    return body.slice(0, cut % body.length);
  }),
  fc
    .oneof(notAString, fc.string({ minLength: 201, maxLength: 300 }))
    .map((connectionId) => JSON.stringify({ connectionId, params: hostileOrder() })),
);

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

function insertAt(text: string, insert: string, at: number): string {
  const index = at % (text.length + 1);
  return text.slice(0, index) + insert + text.slice(index);
}

// ---------------------------------------------------------------------------------------------
// The battery
// ---------------------------------------------------------------------------------------------

describe('hostile input to POST /api/workflows/order-processing/trigger (properties)', () => {
  it('refuses arbitrary JSON values as params', async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue(), async (params) => {
        await sendHostile(injected, JSON.stringify({ params }), {}, { status: 400 });
      }),
      RUNS,
    );
  });

  it('refuses arbitrary bodies', async () => {
    await fc.assert(
      fc.asyncProperty(arbitraryBody, async (body) => void (await sendHostile(injected, body))),
      RUNS,
    );
  });

  it('refuses a field of the wrong type, or missing, naming it (over HTTP)', async () => {
    await fc.assert(
      fc.asyncProperty(wrongTypeField, async ({ field, value }) => {
        await sendHostile(
          overHttp,
          triggerBody(hostileOrder({ [field]: value })),
          {},
          { status: 400, code: 'invalid_order', field: `params.${field}` },
        );
      }),
      RUNS,
    );
  });

  it('refuses negative, fractional, NaN-like, enormous and non-number amounts', async () => {
    await fc.assert(
      fc.asyncProperty(hostileAmountText, async (amountText) => {
        const body = bodyWithRawField('amount', amountText);
        // Text that is JSON reaches validation, which names the field; text that is not is refused by the parser.
        await sendHostile(
          injected,
          body,
          {},
          isJson(amountText) ? { status: 400, code: 'invalid_order', field: 'params.amount' } : { status: 400, code: 'bad_request' },
        );
      }),
      RUNS,
    );
  });

  it('refuses currencies that are not ISO 4217 codes', async () => {
    await fc.assert(
      fc.asyncProperty(hostileCurrency, async (currency) => {
        await sendHostile(
          injected,
          triggerBody(hostileOrder({ currency })),
          {},
          { status: 400, code: 'invalid_order', field: 'params.currency' },
        );
      }),
      RUNS,
    );
  });

  it('refuses control, zero-width, bidi-override and non-ASCII characters in orderId, customerId and email (over HTTP)', async () => {
    await fc.assert(
      fc.asyncProperty(hostileTextField, async ({ field, insert, at }) => {
        const valid = hostileOrder();
        const params = { ...valid, [field]: insertAt(valid[field] as string, insert, at) };
        await sendHostile(overHttp, triggerBody(params), {}, { status: 400, code: 'invalid_order', field: `params.${field}` });
      }),
      RUNS,
    );
  });

  it('refuses __proto__, constructor and prototype keys without polluting prototypes (over HTTP)', async () => {
    await fc.assert(
      fc.asyncProperty(prototypeKeyBody, async (body) => void (await sendHostile(overHttp, body, {}, { status: 400 }))),
      RUNS,
    );
  });

  it('refuses API keys that are a prefix, an extension or a near miss of a valid key', async () => {
    await fc.assert(
      fc.asyncProperty(nearMissKey, async (key) => {
        await sendHostile(injected, triggerBody(hostileOrder()), { authorization: `Bearer ${key}` }, { status: 401, code: 'unauthorized' });
      }),
      RUNS,
    );
  });
});

interface NastyCase {
  body: RequestBody;
  headers?: HeaderOverrides;
  expected: Expected;
}

const validBody = () => triggerBody(hostileOrder());
const orderInjections = [
  "' OR 1=1 --",
  '../../etc/passwd',
  '<script>alert(1)</script>',
  'ord_1\r\nX-Injected: 1',
  'ord_1%00',
  'ord_1\u0000',
];
const emailInjections = [
  "' OR 1=1 --",
  '../../etc/passwd',
  '<script>alert(1)</script>',
  '\r\nX-Injected: 1',
  '%00',
  '\r\nBcc: victim@example.com',
];
const invalidOrder = (field: string): Expected => ({ status: 400, code: 'invalid_order', field: `params.${field}` });
const badRequest: Expected = { status: 400, code: 'bad_request' };
const unauthorized: Expected = { status: 401, code: 'unauthorized' };

const nastyCases: Record<string, NastyCase> = {
  'malformed JSON': { body: '{"params": {orderId: "ord_1"}}', expected: badRequest },
  'truncated JSON': { body: validBody().slice(0, -2), expected: badRequest },
  'JSON followed by garbage': { body: `${validBody()}x`, expected: badRequest },
  'two JSON documents': { body: `${validBody()}${validBody()}`, expected: badRequest },
  'an empty body': { body: '', expected: badRequest },
  'JSON sent as text/plain': {
    body: validBody(),
    headers: { 'content-type': 'text/plain' },
    expected: { status: 415, code: 'unsupported_media_type' },
  },
  'a form-urlencoded body': {
    body: 'params[orderId]=ord_1&params[amount]=4999',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    expected: { status: 415, code: 'unsupported_media_type' },
  },
  'JSON without a content type': {
    body: new TextEncoder().encode(validBody()),
    headers: { 'content-type': undefined },
    expected: { status: 415, code: 'unsupported_media_type' },
  },
  'a JSON flavour the API does not speak': {
    body: validBody(),
    headers: { 'content-type': 'application/vnd.api+json' },
    expected: { status: 415, code: 'unsupported_media_type' },
  },
  'a 200 KB body': { body: bigBody(200 * 1024), expected: { status: 413, code: 'body_too_large' } },
  'a 5 MB body': { body: bigBody(5 * 1024 * 1024), expected: { status: 413, code: 'body_too_large' } },
  'a 5 MB body streamed without Content-Length': { body: chunkedBody(5 * 1024 * 1024), expected: { status: 413, code: 'body_too_large' } },
  'a body of 10 000 nested arrays': { body: nestedArrays(10_000), expected: { status: 400, code: 'invalid_request', field: 'body' } },
  'params of 10 000 nested arrays': {
    body: `{"params":${nestedArrays(10_000)}}`,
    expected: { status: 400, code: 'invalid_request', field: 'params' },
  },
  'params of 50 000 nested arrays (just under the body limit)': {
    body: `{"params":${nestedArrays(50_000)}}`,
    expected: { status: 400, code: 'invalid_request', field: 'params' },
  },
  'an amount of 10 000 nested objects': { body: bodyWithRawField('amount', nestedObjects(10_000)), expected: invalidOrder('amount') },
  'a duplicate amount, the last one valid': { body: bodyWithRawField('amount', '"4999", "amount": 4999'), expected: badRequest },
  'a duplicate amount with the same value': { body: bodyWithRawField('amount', '4999, "amount": 4999'), expected: badRequest },
  'a duplicate key spelled with an escape': { body: bodyWithRawField('amount', '1, "amo\\u0075nt": 99999999'), expected: badRequest },
  'duplicate params': { body: `{"params":{},"params":${JSON.stringify(hostileOrder())}}`, expected: badRequest },
  ...Object.fromEntries(
    orderInjections.map((orderId) => [
      `orderId ${JSON.stringify(orderId)}`,
      { body: triggerBody(hostileOrder({ orderId })), expected: invalidOrder('orderId') },
    ]),
  ),
  ...Object.fromEntries(
    emailInjections.flatMap((injection) => [
      [`email ${JSON.stringify(injection)}`, { body: triggerBody(hostileOrder({ email: injection })), expected: invalidOrder('email') }],
      [
        `email ending in ${JSON.stringify(injection)}`,
        { body: triggerBody(hostileOrder({ email: `customer@example.com${injection}` })), expected: invalidOrder('email') },
      ],
    ]),
  ),
  'email "../../etc/passwd@example.com"': {
    body: triggerBody(hostileOrder({ email: '../../etc/passwd@example.com' })),
    expected: invalidOrder('email'),
  },
  'no Authorization header': { body: validBody(), headers: { authorization: undefined }, expected: unauthorized },
  'a forged key': { body: validBody(), headers: { authorization: 'Bearer ask_forged_key_9999' }, expected: unauthorized },
  'an empty Bearer key': { body: validBody(), headers: { authorization: 'Bearer ' }, expected: unauthorized },
  'a 600-character key': { body: validBody(), headers: { authorization: `Bearer ${'k'.repeat(600)}` }, expected: unauthorized },
  // Over Node's header limit the socket parser answers before any route: still the one error shape.
  'a 100 KB Authorization header': {
    body: validBody(),
    headers: { authorization: `Bearer ${'k'.repeat(100 * 1024)}` },
    expected: { status: 431, code: 'headers_too_large' },
  },
  'Basic auth with the key': {
    body: validBody(),
    headers: { authorization: `Basic ${Buffer.from(`${API_KEY}:`).toString('base64')}` },
    expected: unauthorized,
  },
  'the key without a scheme': { body: validBody(), headers: { authorization: API_KEY }, expected: unauthorized },
  'a Token scheme': { body: validBody(), headers: { authorization: `Token ${API_KEY}` }, expected: unauthorized },
  'a lowercase bearer': { body: validBody(), headers: { authorization: `bearer ${API_KEY}` }, expected: unauthorized },
  'two spaces after Bearer': { body: validBody(), headers: { authorization: `Bearer  ${API_KEY}` }, expected: unauthorized },
  'a tab after Bearer': { body: validBody(), headers: { authorization: `Bearer\t${API_KEY}` }, expected: unauthorized },
  'a prefix of a valid key': { body: validBody(), headers: { authorization: `Bearer ${API_KEY.slice(0, -1)}` }, expected: unauthorized },
  'an extension of a valid key': { body: validBody(), headers: { authorization: `Bearer ${API_KEY}0` }, expected: unauthorized },
  'two valid keys in one header': {
    body: validBody(),
    headers: { authorization: `Bearer ${API_KEY}, Bearer ${OTHER_KEY}` },
    expected: unauthorized,
  },
};

describe('hostile input to POST /api/workflows/order-processing/trigger (nasty cases, over HTTP)', () => {
  it.each(Object.entries(nastyCases))('refuses %s', async (_label, { body, headers, expected }) => {
    await sendHostile(overHttp, body, headers, expected);
  });

  it('refuses a 100 KB Authorization header in-process too (no socket limit): the key check caps it', async () => {
    await sendHostile(injected, validBody(), { authorization: `Bearer ${'k'.repeat(100 * 1024)}` }, unauthorized);
  });
});

describe('hostile input to POST /webhooks/stripe and POST /api/runs/:workflowId/refund (properties)', () => {
  /** A Stripe event naming an order the battery sent, so a forged one that got through would leave a trace. */
  const eventBody = fc
    .record({ id: fc.stringMatching(/^evt_[A-Za-z0-9]{8,24}$/), orderId: fc.constant(uniqueOrderId('hostile_webhook')) })
    .map(({ id, orderId }) =>
      JSON.stringify({
        id,
        object: 'event',
        type: 'payment_intent.succeeded',
        data: { object: { id: 'pi_hostile', metadata: { order_id: orderId } } },
      }),
    );
  const now = () => Math.floor(Date.now() / 1000);
  /** Signatures that are not this secret's over this body: forged, another secret's, stale, malformed. */
  const forgedSignature = (payload: string) =>
    fc.oneof(
      fc.stringMatching(/^[0-9a-f]{64}$/).map((hex) => `t=${now()},v1=${hex}`),
      fc
        .string({ minLength: 6, maxLength: 40 })
        .map((secret) => Stripe.webhooks.generateTestHeaderString({ payload, secret: `whsec_${secret}` })),
      fc
        .integer({ min: 301, max: 10 ** 9 })
        .map((age) => Stripe.webhooks.generateTestHeaderString({ payload, secret: WEBHOOK_SECRET, timestamp: now() - age })),
      fc.string({ unit: 'grapheme-ascii', maxLength: 200 }),
    );

  it('refuses every delivery whose Stripe-Signature is not the endpoint secret over the exact body: 400 invalid_signature', async () => {
    await fc.assert(
      fc.asyncProperty(
        eventBody.chain((payload) => fc.tuple(fc.constant(payload), forgedSignature(payload))),
        async ([payload, signature]) => {
          const response = await app.inject({
            method: 'POST',
            url: STRIPE_WEBHOOK_PATH,
            headers: { 'content-type': 'application/json', 'stripe-signature': signature },
            payload,
          });
          expect(response.statusCode, `${signature}: ${response.body}`).toBe(400);
          expect(response.json().error.code).toBe('invalid_signature');
        },
      ),
      RUNS,
    );
  });

  it('refuses arbitrary refund bodies and Idempotency-Keys with 4xx, starting no refund', async () => {
    await fc.assert(
      fc.asyncProperty(arbitraryBody, fc.option(fc.string({ unit: 'grapheme-ascii', maxLength: 300 })), async (body, key) => {
        const orderId = uniqueOrderId('hostile_refund');
        const response = await app.inject({
          method: 'POST',
          url: `/api/runs/order-${orderId}/refund`,
          headers: {
            authorization: `Bearer ${API_KEY}`,
            'content-type': 'application/json',
            ...(key !== null && { 'idempotency-key': key }),
          },
          payload: typeof body === 'string' ? body : Buffer.from(body as Uint8Array),
        });
        // Invalid: 400 naming the field; valid: the order has no run, 404. Never accepted, never a 5xx.
        expect([400, 404], response.body).toContain(response.statusCode);
        expect(Object.keys(response.json())).toEqual(['error']);
      }),
      RUNS,
    );
  });
});

describe('after the battery', () => {
  it('asked Temporal to start and to signal nothing', () => {
    // At most the refunds' look-ups of their (unknown) orders.
    for (const { method } of temporal.requests) expect(method).toBe('DescribeWorkflowExecution');
    expectNothingStarted();
  });

  it('still answers a valid order with 201, which is the only run started', async () => {
    const params = sampleOrder({ orderId: uniqueOrderId('after_battery') });
    const answer = await overHttp(triggerBody(params), withDefaults({}));
    expect(answer.status, answer.text).toBe(201);
    expect(temporal.runs().map((run) => [run.workflowId, run.workflowType, temporal.argOf(run)])).toEqual([
      [`order-${params.orderId}`, ORDER_WORKFLOW_TYPE, params],
    ]);
  });
});
