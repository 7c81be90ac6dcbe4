import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { Client, Connection } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import proto from '@temporalio/proto';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/api/app.js';
import type { OrderParams } from '../../src/domain/order.js';
import { claimIdempotencyKey } from '../../src/api/start-order.js';
import { ORDER_IDEMPOTENCY_KEY, ORDER_OUTCOME } from '../../src/domain/search-attributes.js';
import { registerTestNamespace, sampleOrder, startHarness, type Harness } from '../support/harness.js';
import { postTrigger } from '../support/trigger.js';
import { claimWorkflowId } from '../../src/workflows/names.js';

const API_KEY = 'ask_idempotency_key_0001';
const auth = { authorization: `Bearer ${API_KEY}` };
let harness: Harness;
let app: FastifyInstance;
let baseUrl: string;

beforeAll(async () => {
  harness = await startHarness();
  app = buildApp({ client: harness.client, taskQueue: harness.temporal.taskQueue, triggerApiKeys: [API_KEY] });
  baseUrl = await app.listen({ port: 0, host: '127.0.0.1' });
});
afterAll(async () => {
  await app?.close();
  await harness?.close();
});

interface Answer {
  status: number;
  body: any;
}

/** A trigger over the listening port, so concurrent requests really race. */
async function trigger(params: OrderParams, idempotencyKey: string, url = baseUrl): Promise<Answer> {
  const response = await postTrigger(url, API_KEY, { params }, { 'idempotency-key': idempotencyKey });
  return { status: response.status, body: await response.json() };
}

function uniqueKey(): string {
  return `key-${randomUUID()}`;
}

/** Whether a run exists under the workflow ID (describe reads the run itself: no visibility lag). */
function runExists(client: Client, workflowId: string): Promise<boolean> {
  return client.workflow
    .getHandle(workflowId)
    .describe()
    .then(
      () => true,
      (error: unknown) => {
        if (error instanceof WorkflowNotFoundError) return false;
        throw error;
      },
    );
}

describe('Idempotency-Key', () => {
  it('starts one run when 20 different orders race with the same key; the other 19 get 409 idempotency_key_reused', async () => {
    const key = uniqueKey();
    const orders = Array.from({ length: 20 }, () => sampleOrder());
    const answers = await Promise.all(orders.map((order) => trigger(order, key)));

    expect(answers.map((answer) => answer.status).sort()).toEqual([201, ...Array<number>(19).fill(409)]);
    const winner = answers.find((answer) => answer.status === 201)!.body.workflowId as string;
    for (const refused of answers.filter((answer) => answer.status === 409)) {
      expect(refused.body.error).toMatchObject({ code: 'idempotency_key_reused', details: { workflowId: winner } });
      expect(refused.body.error.message).toContain(winner);
    }
    const exists = await Promise.all(orders.map((order) => runExists(harness.client, `order-${order.orderId}`)));
    expect(exists.filter(Boolean)).toHaveLength(1);
    expect(exists.filter((found) => !found)).toHaveLength(19);

    // The worker runs the claim, which closes at once naming its order; the order's run completes.
    expect(await harness.client.workflow.getHandle(claimWorkflowId(key)).result()).toBe(winner);
    await harness.client.workflow.getHandle(winner).result();
  });

  it('answers 20 concurrent repeats of one key and one order with one 201 and 200s, all the same run', async () => {
    const key = uniqueKey();
    const order = sampleOrder();
    const answers = await Promise.all(Array.from({ length: 20 }, () => trigger(order, key)));

    expect(answers.map((answer) => answer.status).sort()).toEqual([...Array<number>(19).fill(200), 201]);
    const runIds = new Set(answers.map((answer) => answer.body.runId));
    expect(runIds.size).toBe(1);
    const description = await harness.client.workflow.getHandle(`order-${order.orderId}`).describe();
    expect(runIds).toEqual(new Set([description.runId]));
    expect(description.typedSearchAttributes.get(ORDER_IDEMPOTENCY_KEY)).toBe(key);
    await harness.client.workflow.getHandle(`order-${order.orderId}`).result();
  });

  it('lets a claim whose order never started (the request failed after claiming) be retried by the same order, not by another', async () => {
    const key = uniqueKey();
    const order = sampleOrder();
    const orderWorkflowId = `order-${order.orderId}`;
    // What a request leaves behind when Temporal fails between the claim and the order's start.
    await claimIdempotencyKey(harness.client, harness.temporal.taskQueue, key, orderWorkflowId);
    expect(await runExists(harness.client, orderWorkflowId)).toBe(false);

    const retried = await trigger(order, key);
    expect(retried.status).toBe(201);
    expect(retried.body.workflowId).toBe(orderWorkflowId);
    const other = await trigger(sampleOrder(), key);
    expect(other.status).toBe(409);
    expect(other.body.error).toMatchObject({ code: 'idempotency_key_reused', details: { workflowId: orderWorkflowId } });
    await harness.client.workflow.getHandle(orderWorkflowId).result();
  });

  it('keeps claims out of GET /api/runs and the run routes', async () => {
    const key = uniqueKey();
    const started = await trigger(sampleOrder(), key);
    expect(started.status).toBe(201);
    await harness.client.workflow.getHandle(claimWorkflowId(key)).result();
    const taskQueue = harness.temporal.taskQueue;
    const visibleIds = async (query: string) => {
      const ids: string[] = [];
      for await (const run of harness.client.workflow.list({ query: `TaskQueue = '${taskQueue}' AND ${query}` })) ids.push(run.workflowId);
      return ids;
    };
    // Visibility is eventually consistent: wait until the claim and the order both show there.
    await vi.waitFor(async () => expect(await visibleIds(`WorkflowType = 'idempotencyKeyClaim'`)).toContain(claimWorkflowId(key)), {
      timeout: 15_000,
      interval: 250,
    });
    await vi.waitFor(async () => expect(await visibleIds(`WorkflowId = '${started.body.workflowId}'`)).toHaveLength(1), {
      timeout: 15_000,
      interval: 250,
    });

    const list = (await (await fetch(`${baseUrl}/api/runs?limit=100`, { headers: auth })).json()) as { runs: { workflowId: string }[] };
    const listed = list.runs.map((run) => run.workflowId);
    expect(listed).toContain(started.body.workflowId);
    expect(listed.filter((id) => !id.startsWith('order-'))).toEqual([]);
    const claimView = await fetch(`${baseUrl}/api/runs/${claimWorkflowId(key)}`, { headers: auth });
    expect(claimView.status).toBe(400);
  });

  it('reports ready when the namespace has the search attribute', async () => {
    const ready = await fetch(`${baseUrl}/readyz`);
    expect(ready.status).toBe(200);
  });
});

describe("a namespace without the service's search attributes", () => {
  let namespace: string;
  let connection: Connection;
  let client: Client;
  let bareApp: FastifyInstance;
  let bareUrl: string;

  beforeAll(async () => {
    connection = await Connection.connect({ address: inject('temporalAddress') });
    namespace = await registerTestNamespace(connection, 'no-search-attributes');
    client = new Client({ connection, namespace });
    bareApp = buildApp({ client, taskQueue: `no-worker-${randomUUID()}`, triggerApiKeys: [API_KEY] });
    bareUrl = await bareApp.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => {
    await bareApp?.close();
    await connection?.close();
  });

  const register = (...names: string[]) =>
    `temporal operator search-attribute create --namespace ${namespace} ${names.map((name) => `--name ${name} --type Keyword`).join(' ')}`;

  function expectNames(error: { code: string; message: string; details: Record<string, unknown> }, names: string[]) {
    expect(error.code).toBe('search_attribute_missing');
    for (const name of names) expect(error.message).toContain(`${name} (Keyword: `);
    expect(error.message).toContain(register(...names));
    expect(error.details).toEqual({ searchAttributes: names, namespace, command: register(...names) });
  }

  it('answers /readyz with 503 naming each attribute, what it is for, and the command that registers them', async () => {
    const response = await fetch(`${bareUrl}/readyz`);
    expect(response.status).toBe(503);
    expectNames(((await response.json()) as Answer['body']).error, [ORDER_OUTCOME.name, ORDER_IDEMPOTENCY_KEY.name]);
  });

  it('answers a keyed trigger with 503 naming both, and neither claims the key nor starts a run', async () => {
    const key = uniqueKey();
    const order = sampleOrder();
    const answer = await trigger(order, key, bareUrl);
    expect(answer.status).toBe(503);
    expectNames(answer.body.error, [ORDER_OUTCOME.name, ORDER_IDEMPOTENCY_KEY.name]);
    expect(await runExists(client, claimWorkflowId(key))).toBe(false);
    expect(await runExists(client, `order-${order.orderId}`)).toBe(false);
  });

  it('answers a trigger without a key with 503 naming OrderOutcome only, and starts no run', async () => {
    const order = sampleOrder();
    const response = await postTrigger(bareUrl, API_KEY, { params: order });
    expect(response.status).toBe(503);
    expectNames(((await response.json()) as Answer['body']).error, [ORDER_OUTCOME.name]);
    expect(await runExists(client, `order-${order.orderId}`)).toBe(false);
  });

  it('becomes ready once the attributes are registered, without a restart', async () => {
    const { INDEXED_VALUE_TYPE_KEYWORD } = proto.temporal.api.enums.v1.IndexedValueType;
    await connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: { [ORDER_OUTCOME.name]: INDEXED_VALUE_TYPE_KEYWORD },
    });
    await vi.waitFor(
      async () => {
        const response = await fetch(`${bareUrl}/readyz`);
        expect(response.status).toBe(503);
        expectNames(((await response.json()) as Answer['body']).error, [ORDER_IDEMPOTENCY_KEY.name]);
      },
      { timeout: 15_000, interval: 250 },
    );
    await connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: { [ORDER_IDEMPOTENCY_KEY.name]: INDEXED_VALUE_TYPE_KEYWORD },
    });
    await vi.waitFor(async () => expect((await fetch(`${bareUrl}/readyz`)).status).toBe(200), { timeout: 15_000, interval: 250 });
  });
});
