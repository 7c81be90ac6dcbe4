import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure, type Payload } from '@temporalio/common';
import { historyToJSON, type History } from '@temporalio/common/lib/proto-utils.js';
import { loadCodecConfig, type CodecKey } from '../../src/config/codec.js';
import { EncryptionCodec, UnknownEncryptionKeyError } from '../../src/codec/encryption-codec.js';
import { decodeHistory } from '../../src/codec/history.js';
import { sampleOrder, startHarness, type Harness } from '../support/harness.js';

let harness: Harness;
/** A client without the codec: sees what the Temporal server stores, as anyone with database access would. */
let rawClient: Client;

beforeAll(async () => {
  harness = await startHarness();
  rawClient = new Client({ connection: harness.client.connection, namespace: harness.temporal.namespace });
});
afterAll(async () => {
  await harness?.close();
});

function runKeys(): CodecKey[] {
  if (!harness.codec.enabled) throw new Error('the test run must encrypt');
  return harness.codec.keys;
}

/** Distinctive personal data, so finding it anywhere in a history is no coincidence. */
function privateOrder() {
  const tag = randomBytes(4).toString('hex');
  return sampleOrder({ customerId: `cus_secret_${tag}`, email: `private-${tag}@example.com`, amount: 7331 });
}

interface StoredView {
  /** The history as JSON, with every payload's metadata and data base64-decoded in place. */
  text: string;
  /** The decoded data of the workflow's and activities' payloads, joined. */
  payloadData: string;
  /** The encodings of the payloads the workflow and activities wrote (inputs, results, details). */
  encodings: string[];
  /**
   * The payloads written plain by design: the SDK's bookkeeping (the patch marker, the
   * `TemporalChangeVersion` search attribute naming the patch, the local-activity marker's data:
   * activity type, attempt, times) and the OrderOutcome search attribute.
   */
  sdkBookkeeping: { what: string; encoding: string; data: unknown }[];
}

/** A payload in the history's JSON, its metadata and data base64-decoded. */
type JsonPayload = { metadata: Record<string, string>; data: string };
type JsonEvent = {
  markerRecordedEventAttributes?: { markerName: string; details: Record<string, { payloads: JsonPayload[] }> };
  upsertWorkflowSearchAttributesEventAttributes?: { searchAttributes: { indexedFields: Record<string, JsonPayload> } };
};

const fromBase64 = (text: string | undefined) => Buffer.from(text ?? '', 'base64').toString('utf8');

function isPayload(value: unknown): value is JsonPayload {
  return (
    typeof value === 'object' &&
    value !== null &&
    'metadata' in value &&
    typeof value.metadata === 'object' &&
    value.metadata !== null &&
    'encoding' in value.metadata
  );
}

/** Every payload in a JSON value, depth first. */
function* payloadsIn(value: unknown): Generator<JsonPayload> {
  if (isPayload(value)) yield value;
  else if (typeof value === 'object' && value !== null) for (const child of Object.values(value)) yield* payloadsIn(child);
}

/** Removes the SDK's bookkeeping payloads from a history event (as JSON) and returns them. */
function takeSdkBookkeeping(event: JsonEvent): [string, JsonPayload][] {
  const marker = event.markerRecordedEventAttributes;
  const detail = { core_local_activity: 'data', core_patch: 'patch-data' }[marker?.markerName ?? ''];
  if (marker && detail && marker.details[detail]) {
    const { payloads } = marker.details[detail];
    delete marker.details[detail];
    return payloads.map((payload) => [`${marker.markerName} ${detail}`, payload]);
  }
  const upsert = event.upsertWorkflowSearchAttributesEventAttributes;
  if (upsert) {
    const fields = Object.entries(upsert.searchAttributes.indexedFields);
    upsert.searchAttributes.indexedFields = {};
    return fields.map(([name, payload]) => [`search attribute ${name}`, payload]);
  }
  return [];
}

/** What the Temporal server stores for a run: the raw history, read without the codec. */
async function storedHistory(workflowId: string): Promise<StoredView> {
  const history = await rawClient.workflow.getHandle(workflowId).fetchHistory();
  const { events } = JSON.parse(historyToJSON(history), (_key, value) =>
    isPayload(value)
      ? { metadata: Object.fromEntries(Object.entries(value.metadata).map(([k, v]) => [k, fromBase64(v)])), data: fromBase64(value.data) }
      : value,
  ) as { events: JsonEvent[] };
  const text = JSON.stringify({ events });
  const sdkBookkeeping = events.flatMap(takeSdkBookkeeping).map(([what, payload]) => ({
    what,
    encoding: payload.metadata.encoding,
    data: JSON.parse(payload.data) as unknown,
  }));
  const payloads = [...payloadsIn(events)];
  return {
    text,
    payloadData: payloads.map((payload) => payload.data).join('\n'),
    encodings: payloads.map((payload) => payload.metadata.encoding),
    sdkBookkeeping,
  };
}

async function failure(handle: WorkflowHandle): Promise<ApplicationFailure> {
  const error = await handle.result().then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(WorkflowFailedError);
  expect((error as WorkflowFailedError).cause).toBeInstanceOf(ApplicationFailure);
  return (error as WorkflowFailedError).cause as ApplicationFailure;
}

describe('personal data in Temporal', () => {
  it('stores an order encrypted: no email, customer ID or amount in the history, every payload binary/encrypted', async () => {
    const order = privateOrder();
    const handle = await harness.startOrder(order);
    const result = await handle.result();
    expect(result).toMatchObject({ orderId: order.orderId, status: 'paid', receipt: 'sent' });

    const stored = await storedHistory(handle.workflowId);
    expect(stored.encodings.length).toBeGreaterThan(5);
    expect(new Set(stored.encodings)).toEqual(new Set(['binary/encrypted']));
    expect(stored.sdkBookkeeping).toEqual([
      { what: 'core_patch patch-data', encoding: 'json/plain', data: { id: 'parse-order-local-activity', deprecated: false } },
      { what: 'search attribute TemporalChangeVersion', encoding: 'json/plain', data: ['parse-order-local-activity'] },
      { what: 'core_patch patch-data', encoding: 'json/plain', data: { id: 'payment-intents', deprecated: false } },
      { what: 'search attribute TemporalChangeVersion', encoding: 'json/plain', data: ['parse-order-local-activity', 'payment-intents'] },
      { what: 'core_patch patch-data', encoding: 'json/plain', data: { id: 'order-outcome-search-attribute', deprecated: false } },
      {
        what: 'search attribute TemporalChangeVersion',
        encoding: 'json/plain',
        data: ['order-outcome-search-attribute', 'parse-order-local-activity', 'payment-intents'],
      },
      {
        what: 'core_local_activity data',
        encoding: 'json/plain',
        data: expect.objectContaining({ activity_type: 'parseOrder', attempt: 1 }),
      },
      // The outcome, for the Web UI list and `temporal workflow list --query`: an indexed value, never personal data.
      { what: 'search attribute OrderOutcome', encoding: 'json/plain', data: 'paid' },
    ]);
    // Nothing but identifiers, counters and times: a new field here needs a look before it is allowed.
    expect(Object.keys(stored.sdkBookkeeping[6].data as object).sort()).toEqual([
      'activity_id',
      'activity_type',
      'attempt',
      'backoff',
      'complete_time',
      'original_schedule_time',
      'seq',
    ]);
    expect(stored.text).not.toContain(order.email);
    expect(stored.text).not.toContain(order.customerId);
    expect(stored.payloadData).not.toContain('7331');
    expect(stored.payloadData).not.toContain('73.31');

    // With the keys, the same history reads in full: the input has every value.
    const decoded = JSON.stringify(
      JSON.parse(historyToJSON(await decodeHistory(await handle.fetchHistory(), [new EncryptionCodec(runKeys())]))),
    );
    expect(decoded).toContain(Buffer.from(JSON.stringify(order)).toString('base64'));
    // And the activities received the real values.
    expect(harness.sandbox.resend.emails.find((email) => email.subject.includes(order.orderId))).toMatchObject({ to: [order.email] });
  });

  it('encrypts failure messages: an invalid order fails with its message readable only with the keys', async () => {
    const order = { ...privateOrder(), amount: 0 };
    const handle = await harness.startOrder(order);
    const cause = await failure(handle);
    expect(cause.type).toBe('InvalidOrder');
    expect(cause.message).toContain('amount must be a positive integer');

    const stored = await storedHistory(handle.workflowId);
    expect(stored.text).not.toContain('must be a positive integer');
    expect(stored.text).not.toContain(order.email);
    expect(stored.text).not.toContain(order.customerId);
    // The failure type stays visible (it names no one); its message and stack trace are encrypted.
    expect(stored.text).toContain('InvalidOrder');
    expect(stored.text).toContain('Encoded failure');
  });

  it('encrypts a provider rejection that quotes the customer: Resend refusing the receipt', async () => {
    const order = privateOrder();
    const rejection = `The recipient ${order.email} is on the suppression list`;
    harness.sandbox.resend.failNext(1, { status: 422, body: { statusCode: 422, name: 'validation_error', message: rejection } });
    const handle = await harness.startOrder(order);
    expect(await handle.result()).toMatchObject({ status: 'paid', receipt: 'failed' });

    const stored = await storedHistory(handle.workflowId);
    expect(stored.text).not.toContain('suppression list');
    expect(stored.text).not.toContain(order.email);
    expect(stored.text).toContain('ReceiptRejected');

    // With the keys, the failure's message and stack trace are back, in its encoded attributes.
    const history = await decodeHistory(await handle.fetchHistory(), [new EncryptionCodec(runKeys())]);
    const failed = history.events?.find((event) => event.activityTaskFailedEventAttributes)?.activityTaskFailedEventAttributes?.failure;
    expect(failed?.message).toBe('Encoded failure');
    const attributes = JSON.parse(Buffer.from(failed!.encodedAttributes!.data!).toString('utf8')) as {
      message: string;
      stack_trace: string;
    };
    expect(attributes.message).toContain(rejection);
    expect(attributes.stack_trace).toContain('sendReceipt');
  });
});

describe('key rotation', () => {
  const freshKey = (id: string): CodecKey => ({ id, key: randomBytes(32) });

  it('keeps runs written with a retired key readable while that key is listed after the new one', async () => {
    const order = privateOrder();
    const handle = await harness.startOrder(order);
    await handle.result();
    const [runKey] = runKeys();
    const rotated = new EncryptionCodec([freshKey('k-new'), runKey]);
    const history: History = await decodeHistory(await handle.fetchHistory(), [rotated]);
    expect(JSON.stringify(JSON.parse(historyToJSON(history)))).toContain(Buffer.from(JSON.stringify(order)).toString('base64'));

    // The new key encrypts from now on.
    const [payload] = await rotated.encode([{ metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from('"x"') }]);
    expect(Buffer.from(payload.metadata!['encryption-key-id']).toString()).toBe('k-new');
  });

  it('reads keys rotated through TEMPORAL_CODEC_KEYS: a payload of the second key decodes with the first in front', async () => {
    const [current, retired] = [randomBytes(32).toString('base64'), randomBytes(32).toString('base64')];
    const before = loadCodecConfig({ TEMPORAL_CODEC_KEYS: `k2025:${retired}` });
    const after = loadCodecConfig({ TEMPORAL_CODEC_KEYS: `k2026:${current},k2025:${retired}` });
    if (!before.enabled || !after.enabled) throw new Error('encryption must be on');
    const original: Payload = {
      metadata: { encoding: Buffer.from('json/plain') },
      data: Buffer.from(JSON.stringify({ email: 'private@example.com' })),
    };
    const [old] = await new EncryptionCodec(before.keys).encode([original]);
    const [decoded] = await new EncryptionCodec(after.keys).decode([old]);
    expect(Buffer.from(decoded.data!).toString()).toBe(JSON.stringify({ email: 'private@example.com' }));
    expect(Buffer.from(decoded.metadata!.encoding).toString()).toBe('json/plain');
  });

  it('fails clearly on a payload whose key is not configured, naming the key ID and TEMPORAL_CODEC_KEYS', async () => {
    const order = privateOrder();
    const handle = await harness.startOrder(order);
    await handle.result();
    const [runKey] = runKeys();
    const withoutRunKey = new EncryptionCodec([freshKey('k-other')]);
    const decoding = decodeHistory(await handle.fetchHistory(), [withoutRunKey]);
    await expect(decoding).rejects.toBeInstanceOf(UnknownEncryptionKeyError);
    await expect(decoding).rejects.toThrow(
      `Payload was encrypted with key "${runKey.id}", which is not configured: add "${runKey.id}:<base64 key>" to TEMPORAL_CODEC_KEYS`,
    );

    // A client holding the wrong keys cannot read the result either, and says why.
    const wrongClient = new Client({
      connection: harness.client.connection,
      namespace: harness.temporal.namespace,
      dataConverter: { payloadCodecs: [withoutRunKey] },
    });
    await expect(wrongClient.workflow.getHandle(handle.workflowId).result()).rejects.toThrow(`key "${runKey.id}", which is not configured`);
  });

  it('refuses a payload altered in storage or decrypted with another key under the same ID', async () => {
    const codec = new EncryptionCodec([freshKey('k1')]);
    const [payload] = await codec.encode([{ metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from('"secret"') }]);
    const tampered = { ...payload, data: Buffer.from(payload.data!).map((byte, index) => (index === 20 ? byte ^ 1 : byte)) };
    await expect(codec.decode([tampered])).rejects.toThrow('Payload encrypted with key "k1" failed authentication');
    await expect(new EncryptionCodec([freshKey('k1')]).decode([payload])).rejects.toThrow('failed authentication');
  });

  it('uses a fresh IV for every payload and passes unencrypted payloads (older runs) through', async () => {
    const codec = new EncryptionCodec([freshKey('k1')]);
    const plain: Payload = { metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from('"same"') };
    const [first, second] = await codec.encode([plain, plain]);
    expect(Buffer.from(first.data!).equals(Buffer.from(second.data!))).toBe(false);
    expect(Buffer.from(first.data!).subarray(0, 12).equals(Buffer.from(second.data!).subarray(0, 12))).toBe(false);
    expect(await codec.decode([plain])).toEqual([plain]);
  });
});
