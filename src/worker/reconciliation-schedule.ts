import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import type { ReconciliationConfig } from '../config/worker-settings.js';
import { type SweepInput } from '../domain/reconciliation.js';
import { RECONCILIATION_SCHEDULE_ID, SWEEP_WORKFLOW_TYPE } from '../workflows/names.js';

/**
 * Updates only the task queue, interval and window, so an operator's pause and notes are kept. BUFFER_ONE: a sweep due while
 * one still runs waits, so sweeps never overlap.
 */
export async function ensureReconciliationSchedule(
  client: Client,
  taskQueue: string,
  { intervalMs, windowMs }: ReconciliationConfig,
): Promise<void> {
  const sweepInput: SweepInput = { windowMs };
  const action = { type: 'startWorkflow' as const, workflowType: SWEEP_WORKFLOW_TYPE, taskQueue, args: [sweepInput] };
  try {
    await client.schedule.create({
      scheduleId: RECONCILIATION_SCHEDULE_ID,
      spec: { intervals: [{ every: intervalMs }] },
      action,
      policies: { overlap: ScheduleOverlapPolicy.BUFFER_ONE },
    });
    return;
  } catch (error) {
    if (!(error instanceof ScheduleAlreadyRunning)) throw error;
  }
  const handle = client.schedule.getHandle(RECONCILIATION_SCHEDULE_ID);
  const current = await handle.describe();
  const currentAction = current.action.type === 'startWorkflow' ? current.action : undefined;
  const unchanged =
    current.spec.intervals?.length === 1 &&
    current.spec.intervals[0].every === intervalMs &&
    currentAction?.taskQueue === taskQueue &&
    currentAction.workflowType === SWEEP_WORKFLOW_TYPE &&
    (currentAction.args?.[0] as SweepInput | undefined)?.windowMs === windowMs;
  if (unchanged) return;
  await handle.update((previous) => ({ ...previous, spec: { intervals: [{ every: intervalMs }] }, action }));
}
