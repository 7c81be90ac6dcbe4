import type { temporal } from '@temporalio/proto';
import { optionalTsToDate } from '@temporalio/common/lib/time.js';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
type PendingActivity = temporal.api.workflow.v1.IPendingActivityInfo;
type Failure = temporal.api.failure.v1.IFailure;

/** A failure's message for people, decoded (failure messages may be encrypted in the history). */
export type DescribeFailure = (failure: Failure) => Promise<string | undefined>;

/** The seed's node names, by activity type. */
const STEP_NAMES: Record<string, string> = {
  parseOrder: 'Parse Order',
  chargeCard: 'Charge Card',
  sendReceipt: 'Send Receipt',
  notifyOps: 'Notify Ops',
  updateOrderStatus: 'Update Order Status',
};

export type StepState = 'scheduled' | 'running' | 'retrying' | 'completed' | 'failed' | 'timed_out' | 'cancelled';

export interface TimelineStep {
  name: string;
  activityType: string;
  state: StepState;
  attempts: number;
  lastFailure?: string;
  startTime?: string;
  endTime?: string;
}

function iso(event: HistoryEvent): string | undefined {
  return optionalTsToDate(event.eventTime)?.toISOString();
}

/**
 * The run's steps, from its event history (one entry per activity, in order), completed by the
 * pending activities' attempt counts and last failures while the run is open.
 */
export async function buildTimeline(
  events: HistoryEvent[],
  pending: PendingActivity[],
  describeFailure: DescribeFailure,
): Promise<TimelineStep[]> {
  const steps = new Map<string, TimelineStep & { activityId: string }>();
  const byActivityId = new Map<string, TimelineStep>();
  for (const event of events) {
    const scheduled = event.activityTaskScheduledEventAttributes;
    if (scheduled) {
      const activityType = scheduled.activityType?.name ?? 'unknown';
      const step = {
        name: STEP_NAMES[activityType] ?? activityType,
        activityType,
        activityId: scheduled.activityId ?? '',
        state: 'scheduled' as StepState,
        attempts: 0,
        startTime: iso(event),
      };
      steps.set(String(event.eventId), step);
      byActivityId.set(step.activityId, step);
      continue;
    }
    const closing =
      event.activityTaskStartedEventAttributes ??
      event.activityTaskCompletedEventAttributes ??
      event.activityTaskFailedEventAttributes ??
      event.activityTaskTimedOutEventAttributes ??
      event.activityTaskCanceledEventAttributes;
    const step = closing?.scheduledEventId ? steps.get(String(closing.scheduledEventId)) : undefined;
    if (!step) continue;
    if (event.activityTaskStartedEventAttributes) {
      step.state = 'running';
      step.attempts = event.activityTaskStartedEventAttributes.attempt ?? 1;
      const lastFailure = event.activityTaskStartedEventAttributes.lastFailure;
      if (lastFailure) step.lastFailure = await describeFailure(lastFailure);
      continue;
    }
    step.endTime = iso(event);
    if (event.activityTaskCompletedEventAttributes) step.state = 'completed';
    if (event.activityTaskCanceledEventAttributes) step.state = 'cancelled';
    const failure = event.activityTaskFailedEventAttributes?.failure ?? event.activityTaskTimedOutEventAttributes?.failure;
    if (failure) {
      step.state = event.activityTaskFailedEventAttributes ? 'failed' : 'timed_out';
      step.lastFailure = await describeFailure(failure);
    }
  }
  for (const activity of pending) {
    const step = byActivityId.get(activity.activityId ?? '');
    if (!step) continue;
    step.attempts = activity.attempt ?? step.attempts;
    if (activity.lastFailure) {
      step.lastFailure = await describeFailure(activity.lastFailure);
      step.state = 'retrying';
    }
  }
  return [...steps.values()].map(({ activityId: _activityId, ...step }) => step);
}
