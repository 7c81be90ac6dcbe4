import type { temporal } from '@temporalio/proto';
import { optionalTsToDate } from '@temporalio/common/lib/time.js';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
type PendingActivity = temporal.api.workflow.v1.IPendingActivityInfo;

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
export function buildTimeline(events: HistoryEvent[], pending: PendingActivity[] = []): TimelineStep[] {
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
      const lastFailure = event.activityTaskStartedEventAttributes.lastFailure?.message;
      if (lastFailure) step.lastFailure = lastFailure;
      continue;
    }
    step.endTime = iso(event);
    if (event.activityTaskCompletedEventAttributes) step.state = 'completed';
    if (event.activityTaskCanceledEventAttributes) step.state = 'cancelled';
    const failure = event.activityTaskFailedEventAttributes?.failure ?? event.activityTaskTimedOutEventAttributes?.failure;
    if (failure) {
      step.state = event.activityTaskFailedEventAttributes ? 'failed' : 'timed_out';
      step.lastFailure = failure.cause?.message ?? failure.message ?? undefined;
    }
  }
  for (const activity of pending) {
    const step = byActivityId.get(activity.activityId ?? '');
    if (!step) continue;
    step.attempts = activity.attempt ?? step.attempts;
    if (activity.lastFailure?.message) {
      step.lastFailure = activity.lastFailure.message;
      step.state = 'retrying';
    }
  }
  return [...steps.values()].map(({ activityId: _activityId, ...step }) => step);
}
