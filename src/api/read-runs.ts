import type { Client, WorkflowExecutionDescription, WorkflowHandle } from '@temporalio/client';
import {
  ApplicationFailure,
  arrayFromPayloads,
  defaultPayloadConverter,
  WorkflowNotFoundError,
  type LoadedDataConverter,
} from '@temporalio/common';
import { optionalTsToDate } from '@temporalio/common/lib/time.js';
import proto from '@temporalio/proto';
import { decodeFailure, decodePayloads } from '../codec/decode.js';
import { type OrderProgress, type OrderResult } from '../domain/order.js';
import { ORDER_OUTCOME, type OrderOutcome } from '../domain/search-attributes.js';
import { buildTimeline, type TimelineStep } from './timeline.js';
import { RUN_STATUSES, runStatus, type RunStatus } from './run-status.js';
import { ORDER_WORKFLOW_TYPE, statusQuery } from '../workflows/names.js';

export interface RunView {
  workflowId: string;
  runId: string;
  status: RunStatus;
  startTime: string;
  closeTime?: string;
  outcome?: OrderOutcome;
  /** The `status` query's answer while the run is open (current step, outcome so far). */
  progress?: OrderProgress;
  result?: OrderResult;
  failure?: { type?: string; message: string };
  timeline: TimelineStep[];
  /** The run in the Temporal Web UI. */
  webUiUrl: string;
}

export interface RunSummary {
  workflowId: string;
  runId: string;
  status: RunStatus;
  startTime?: string;
  closeTime?: string;
  /** The run's OrderOutcome search attribute, once the outcome is known. */
  outcome?: OrderOutcome;
}

type Failure = proto.temporal.api.failure.v1.IFailure;
type Payload = proto.temporal.api.common.v1.IPayload;

const STATUS_QUERY_DEADLINE_MS = 3_000;
const { WorkflowExecutionStatus } = proto.temporal.api.enums.v1;

function webUiRunUrl(webUiBaseUrl: string, namespace: string, workflowId: string, runId: string): string {
  return `${webUiBaseUrl}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}/${runId}/history`;
}

/** The `status` query's answer, or undefined when no worker answers in time (a run view must not hang). */
export async function queryProgress(client: Client, workflowId: string): Promise<OrderProgress | undefined> {
  return client.connection
    .withDeadline(Date.now() + STATUS_QUERY_DEADLINE_MS, () => client.workflow.getHandle(workflowId).query(statusQuery))
    .catch(() => undefined);
}

/** The values in payloads read from a history, decoded as the client decodes anything (codec included). */
async function decodeValues(converter: LoadedDataConverter, payloads: Payload[] | null | undefined): Promise<unknown[]> {
  return arrayFromPayloads(converter.payloadConverter, await decodePayloads(payloads ?? [], converter.payloadCodecs));
}

/** A failure read from a history or a pending activity, as the error the client would throw for it. */
async function decodeError(converter: LoadedDataConverter, failure: Failure | null | undefined): Promise<Error | undefined> {
  if (!failure) return undefined;
  return converter.failureConverter.failureToError(await decodeFailure(failure, converter.payloadCodecs), converter.payloadConverter);
}

/** The run's description when it exists and is an order run; null otherwise. */
async function describeOrderRun(handle: WorkflowHandle): Promise<WorkflowExecutionDescription | null> {
  let description: WorkflowExecutionDescription;
  try {
    description = await handle.describe();
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return null;
    throw error;
  }
  return description.type === ORDER_WORKFLOW_TYPE ? description : null;
}

/** A run's status, result, failure or live progress, and its step timeline; null when there is no such run. */
export async function describeRun(client: Client, workflowId: string, webUiBaseUrl: string): Promise<RunView | null> {
  const handle = client.workflow.getHandle(workflowId);
  const description = await describeOrderRun(handle);
  if (!description) return null;
  const history = await handle.fetchHistory();
  const converter = client.options.loadedDataConverter;
  const outcome = description.typedSearchAttributes.get(ORDER_OUTCOME) as OrderOutcome | undefined;
  const view: RunView = {
    workflowId,
    runId: description.runId,
    status: runStatus(description.status.name),
    startTime: description.startTime.toISOString(),
    ...(description.closeTime && { closeTime: description.closeTime.toISOString() }),
    ...(outcome && { outcome }),
    timeline: await buildTimeline(history.events ?? [], description.raw.pendingActivities ?? [], async (failure) => {
      const error = await decodeError(converter, failure);
      return ((error?.cause as Error | undefined) ?? error)?.message;
    }),
    webUiUrl: webUiRunUrl(webUiBaseUrl, client.options.namespace, workflowId, description.runId),
  };
  if (view.status === 'running') {
    const progress = await queryProgress(client, workflowId);
    if (progress) view.progress = progress;
  }
  // A closed run's result or failure is its history's last event, already fetched.
  const closing = history.events?.at(-1);
  const completed = closing?.workflowExecutionCompletedEventAttributes;
  if (completed) view.result = (await decodeValues(converter, completed.result?.payloads))[0] as OrderResult;
  const failed = closing?.workflowExecutionFailedEventAttributes;
  if (failed) {
    const error = await decodeError(converter, failed.failure);
    view.failure = {
      ...(error instanceof ApplicationFailure && error.type && { type: error.type }),
      message: error?.message ?? 'The run failed',
    };
  }
  return view;
}

/** An order run's status and, once it completed, its result; null when there is no order run with this ID. */
export async function readOrderRun(client: Client, workflowId: string): Promise<{ status: RunStatus; result?: OrderResult } | null> {
  const handle = client.workflow.getHandle<() => Promise<OrderResult>>(workflowId);
  const description = await describeOrderRun(handle);
  if (!description) return null;
  const status = runStatus(description.status.name);
  return status === 'completed' ? { status, result: await handle.result() } : { status };
}

/** The params a run was started with, decoded as the client decodes anything (codec included). */
export async function readRunInput(client: Client, workflowId: string): Promise<unknown> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
  const [params] = await decodeValues(client.options.loadedDataConverter, started?.input?.payloads);
  return params;
}

export interface RunFilters {
  status?: (typeof RUN_STATUSES)[number];
  outcome?: OrderOutcome;
  orderWorkflowId?: string;
  startedAfter?: Date;
  startedBefore?: Date;
  limit: number;
  cursor?: Buffer;
}

const STATUS_QUERY_VALUES: Record<(typeof RUN_STATUSES)[number], string> = {
  running: 'Running',
  completed: 'Completed',
  failed: 'Failed',
  cancelled: 'Canceled',
  terminated: 'Terminated',
  timed_out: 'TimedOut',
  continued_as_new: 'ContinuedAsNew',
};

/** The OrderOutcome of a listed run, from its Keyword payload (plain JSON, never encrypted: the server indexes it). */
function outcomeOf(payload: Payload | undefined): { outcome?: OrderOutcome } {
  return payload ? { outcome: defaultPayloadConverter.fromPayload<OrderOutcome>(payload) } : {};
}

/**
 * Every value placed in the query is validated by the caller (an enum, an order workflow ID, ISO dates), so nothing a client
 * sends can change the query's shape.
 */
export async function listRuns(
  client: Client,
  taskQueue: string,
  filters: RunFilters,
): Promise<{ runs: RunSummary[]; nextPageToken?: Uint8Array }> {
  const clauses = [`WorkflowType = '${ORDER_WORKFLOW_TYPE}'`, `TaskQueue = '${taskQueue}'`];
  if (filters.status) clauses.push(`ExecutionStatus = '${STATUS_QUERY_VALUES[filters.status]}'`);
  if (filters.outcome) clauses.push(`${ORDER_OUTCOME.name} = '${filters.outcome}'`);
  if (filters.orderWorkflowId) clauses.push(`WorkflowId = '${filters.orderWorkflowId}'`);
  if (filters.startedAfter) clauses.push(`StartTime > '${filters.startedAfter.toISOString()}'`);
  if (filters.startedBefore) clauses.push(`StartTime < '${filters.startedBefore.toISOString()}'`);
  const response = await client.workflowService.listWorkflowExecutions({
    namespace: client.options.namespace,
    query: clauses.join(' AND '),
    pageSize: filters.limit,
    ...(filters.cursor && { nextPageToken: filters.cursor }),
  });
  const runs = (response.executions ?? []).map((execution) => ({
    workflowId: execution.execution?.workflowId ?? '',
    runId: execution.execution?.runId ?? '',
    status: runStatus(WorkflowExecutionStatus[execution.status ?? 0] ?? 'unknown'),
    ...(execution.startTime && { startTime: optionalTsToDate(execution.startTime)!.toISOString() }),
    ...(execution.closeTime && { closeTime: optionalTsToDate(execution.closeTime)!.toISOString() }),
    ...outcomeOf(execution.searchAttributes?.indexedFields?.[ORDER_OUTCOME.name]),
  }));
  const token = response.nextPageToken;
  return { runs, ...(token && token.length > 0 && { nextPageToken: token }) };
}
