import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { Client } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { buildCodecApp } from '../../src/codec/app.js';
import { EncryptionCodec } from '../../src/codec/encryption-codec.js';
import { findTool, TEMPORAL_CLI } from '../../dev/tools.js';
import { sampleOrder, startHarness, type Harness } from '../support/harness.js';

const TOKEN = `codec_${randomBytes(16).toString('hex')}`;
const UI_ORIGIN = 'http://localhost:8233';
const run = promisify(execFile);

let harness: Harness;
let app: FastifyInstance;
let codecUrl: string;
let order: ReturnType<typeof sampleOrder>;
let workflowId: string;
/** The run's input as Temporal stores it: one encrypted payload in proto JSON form. */
let storedInput: { metadata: Record<string, string>; data: string };

beforeAll(async () => {
  harness = await startHarness();
  if (!harness.codec.enabled) throw new Error('the test run must encrypt');
  app = buildCodecApp({
    codec: new EncryptionCodec(harness.codec.keys),
    namespace: harness.temporal.namespace,
    corsOrigins: [UI_ORIGIN],
    authTokens: ['another-codec-token-0001', TOKEN],
  });
  codecUrl = await app.listen({ port: 0, host: '127.0.0.1' });

  order = sampleOrder({ customerId: 'cus_secret_codec', email: `private-${randomBytes(4).toString('hex')}@example.com`, amount: 7331 });
  const handle = await harness.startOrder(order);
  await handle.result();
  workflowId = handle.workflowId;
  const rawClient = new Client({ connection: harness.client.connection, namespace: harness.temporal.namespace });
  const history = JSON.parse(historyToJSON(await rawClient.workflow.getHandle(workflowId).fetchHistory()));
  storedInput = history.events[0].workflowExecutionStartedEventAttributes.input.payloads[0];
});
afterAll(async () => {
  await app?.close();
  await harness?.close();
});

function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  return fetch(`${codecUrl}${path}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${TOKEN}`,
      'x-namespace': harness.temporal.namespace,
      ...headers,
    },
    body: JSON.stringify(body),
  });
}

const utf8 = (base64: string) => Buffer.from(base64, 'base64').toString('utf8');

describe('the codec server (Temporal remote codec protocol)', () => {
  it('decrypts the payloads of a real run for an authorized request', async () => {
    expect(utf8(storedInput.metadata.encoding)).toBe('binary/encrypted');
    expect(utf8(storedInput.data)).not.toContain(order.email);

    const response = await post('/decode', { payloads: [storedInput] });
    expect(response.status).toBe(200);
    const { payloads } = (await response.json()) as { payloads: { metadata: Record<string, string>; data: string }[] };
    expect(payloads).toHaveLength(1);
    expect(utf8(payloads[0].metadata.encoding)).toBe('json/plain');
    expect(JSON.parse(utf8(payloads[0].data))).toEqual(order);
  });

  it('encodes with the first key, and decodes what it encoded', async () => {
    const plain = {
      metadata: { encoding: Buffer.from('json/plain').toString('base64') },
      data: Buffer.from('{"email":"x@example.com"}').toString('base64'),
    };
    const encoded = (await (await post('/encode', { payloads: [plain] })).json()) as {
      payloads: { metadata: Record<string, string>; data: string }[];
    };
    expect(utf8(encoded.payloads[0].metadata.encoding)).toBe('binary/encrypted');
    expect(utf8(encoded.payloads[0].metadata['encryption-key-id'])).toBe(harness.codec.enabled && harness.codec.keys[0].id);
    const decoded = (await (await post('/decode', encoded)).json()) as { payloads: unknown[] };
    expect(decoded.payloads).toEqual([plain]);
  });

  it('answers 401 without a token or with a wrong one, comparing tokens in constant time', async () => {
    for (const authorization of ['', 'Bearer wrong-token-000000000', `Basic ${TOKEN}`, `Bearer ${TOKEN}x`]) {
      const response = await post('/decode', { payloads: [storedInput] }, { authorization });
      expect(response.status, authorization).toBe(401);
      expect(response.headers.get('www-authenticate')).toBe('Bearer');
      expect(JSON.stringify(await response.json())).not.toContain(order.email);
    }
    // Checked before the body is read: a stranger learns nothing about what would be accepted.
    expect((await post('/decode', { payloads: 'not a list' }, { authorization: '' })).status).toBe(401);
  });

  it('answers the CORS preflight of the Web UI origin only', async () => {
    const preflight = (origin: string) =>
      fetch(`${codecUrl}/decode`, {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'authorization,content-type,x-namespace',
        },
      });
    const allowed = await preflight(UI_ORIGIN);
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get('access-control-allow-origin')).toBe(UI_ORIGIN);
    expect(allowed.headers.get('access-control-allow-credentials')).toBe('true');
    expect(allowed.headers.get('access-control-allow-methods')).toContain('POST');
    expect(allowed.headers.get('access-control-allow-headers')?.toLowerCase().split(/,\s*/)).toEqual(
      expect.arrayContaining(['authorization', 'content-type', 'x-namespace']),
    );

    for (const origin of ['http://evil.example.com', 'http://localhost:8234', 'null']) {
      const refused = await preflight(origin);
      expect(refused.status, origin).toBe(403);
      expect(refused.headers.get('access-control-allow-origin'), origin).toBeNull();
    }
    // A request from another origin is refused outright, not merely hidden from its page.
    expect((await post('/decode', { payloads: [storedInput] }, { origin: 'http://evil.example.com' })).status).toBe(403);
    const fromUi = await post('/decode', { payloads: [storedInput] }, { origin: UI_ORIGIN });
    expect(fromUi.status).toBe(200);
    expect(fromUi.headers.get('access-control-allow-origin')).toBe(UI_ORIGIN);
  });

  it('serves only its namespace (X-Namespace) and reports undecodable payloads clearly', async () => {
    const otherNamespace = await post('/decode', { payloads: [storedInput] }, { 'x-namespace': 'payments-eu' });
    expect(otherNamespace.status).toBe(403);
    expect(await otherNamespace.json()).toMatchObject({ error: { code: 'namespace_not_served' } });

    const unknownKey = {
      ...storedInput,
      metadata: { ...storedInput.metadata, 'encryption-key-id': Buffer.from('k-retired-2019').toString('base64') },
    };
    const failed = await post('/decode', { payloads: [unknownKey] });
    expect(failed.status).toBe(400);
    expect(await failed.json()).toMatchObject({
      error: {
        code: 'decode_failed',
        message: expect.stringContaining(
          'key "k-retired-2019", which is not configured: add "k-retired-2019:<base64 key>" to TEMPORAL_CODEC_KEYS',
        ),
      },
    });
    expect((await post('/decode', { payloads: 'not a list' })).status).toBe(400);
    // Proto JSON leaves out an empty list: `{}` means no payloads (the CLI sends it for a query without arguments).
    expect(await (await post('/decode', {})).json()).toEqual({ payloads: [] });
  });

  it('lets `temporal workflow show --codec-endpoint --codec-auth` display the decrypted history', async () => {
    const cli = findTool(TEMPORAL_CLI);
    expect(cli, 'the temporal CLI (TEMPORAL_CLI_PATH, PATH or .tools/bin; `npm run tools` gets it)').toBeDefined();
    const show = (...extra: string[]) =>
      run(cli!.path, [
        'workflow',
        'show',
        '--address',
        inject('temporalAddress'),
        '--workflow-id',
        workflowId,
        '--detailed',
        '--color',
        'never',
        ...extra,
      ]);

    const encrypted = await show();
    expect(encrypted.stdout).toContain(`input.payloads[0].metadata.encoding: ${Buffer.from('binary/encrypted').toString('base64')}`);
    expect(encrypted.stdout).not.toContain(order.email);
    const decoded = await show('--codec-endpoint', codecUrl, '--codec-auth', `Bearer ${TOKEN}`);
    expect(decoded.stdout).toContain(`input[0].email: ${order.email}`);
    expect(decoded.stdout).toContain(`input[0].customerId: ${order.customerId}`);
    expect(decoded.stdout).toContain('input[0].amount: 7331');
    // Without the token the codec server answers 401, and the CLI gives up rather than show anything.
    await expect(show('--codec-endpoint', codecUrl, '--command-timeout', '3s')).rejects.toThrow();
  });
});
