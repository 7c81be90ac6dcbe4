import { WorkflowFailedError, type Client } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import type { OrderProgress, OrderResult } from '../domain/order.js';
import { statusQuery } from '../workflows/order-processing.js';

export type RunStatus = 'running' | 'completed' | 'failed' | 'cancelled' | 'terminated' | 'timed_out' | 'continued_as_new' | 'unknown';

export interface RunView {
  workflowId: string;
  runId: string;
  status: RunStatus;
  startTime: string;
  closeTime?: string;
  /** The `status` query's answer while the run is open. */
  progress?: OrderProgress;
  result?: OrderResult;
  failure?: { type?: string; message: string };
}

const STATUS_QUERY_DEADLINE_MS = 3_000;

function runStatus(name: string): RunStatus {
  const status = name.toLowerCase() as RunStatus;
  return ['running', 'completed', 'failed', 'cancelled', 'terminated', 'timed_out', 'continued_as_new'].includes(status) ? status : 'unknown';
}

/** A run's status, and its result, failure or live progress; null when there is no such run. */
export async function describeRun(client: Client, workflowId: string): Promise<RunView | null> {
  const handle = client.workflow.getHandle(workflowId);
  let description;
  try {
    description = await handle.describe();
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return null;
    throw error;
  }
  const view: RunView = {
    workflowId,
    runId: description.runId,
    status: runStatus(description.status.name),
    startTime: description.startTime.toISOString(),
    ...(description.closeTime && { closeTime: description.closeTime.toISOString() }),
  };
  if (view.status === 'running') {
    // With no worker polling, a query waits; a run view must not.
    const progress = await client.connection
      .withDeadline(Date.now() + STATUS_QUERY_DEADLINE_MS, () => handle.query(statusQuery))
      .catch(() => undefined);
    if (progress) view.progress = progress;
  } else if (view.status === 'completed') {
    view.result = (await handle.result()) as OrderResult;
  } else if (view.status === 'failed') {
    try {
      await handle.result();
    } catch (error) {
      const cause = error instanceof WorkflowFailedError ? error.cause : undefined;
      view.failure = {
        ...(cause && 'type' in cause && typeof cause.type === 'string' && { type: cause.type }),
        message: cause?.message ?? (error as Error).message,
      };
    }
  }
  return view;
}
