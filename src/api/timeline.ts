import type { temporal } from '@temporalio/proto';
import { defaultPayloadConverter } from '@temporalio/common';
import { optionalTsToDate } from '@temporalio/common/lib/time.js';
import { stepName } from '../workflows/names.js';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
type PendingActivity = temporal.api.workflow.v1.IPendingActivityInfo;
type Failure = temporal.api.failure.v1.IFailure;

/** A failure's message for people, decoded (failure messages may be encrypted in the history). */
export type DescribeFailure = (failure: Failure) => Promise<string | undefined>;

type StepState = 'scheduled' | 'running' | 'retrying' | 'completed' | 'failed' | 'timed_out' | 'cancelled';

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

/** The marker the SDK records for a local activity's outcome. */
const LOCAL_ACTIVITY_MARKER = 'core_local_activity';

/** The SDK's own bookkeeping in a local-activity marker (plain JSON, never encrypted: no order data). */
interface LocalActivityMarkerData {
  activity_type: string;
  attempt: number;
  /** When the worker scheduled the first attempt, by its clock. */
  original_schedule_time?: { seconds: number; nanos: number } | null;
}

function timestampIso(timestamp: LocalActivityMarkerData['original_schedule_time']): string | undefined {
  return timestamp ? new Date(timestamp.seconds * 1000 + Math.floor(timestamp.nanos / 1e6)).toISOString() : undefined;
}

/** A marker is recorded once the local activity finished, all attempts included (they fit within the local retry threshold). */
async function localActivityStep(event: HistoryEvent, describeFailure: DescribeFailure): Promise<TimelineStep | undefined> {
  const marker = event.markerRecordedEventAttributes;
  const payload = marker?.markerName === LOCAL_ACTIVITY_MARKER ? marker.details?.data?.payloads?.[0] : undefined;
  if (!marker || !payload) return undefined;
  const data = defaultPayloadConverter.fromPayload<LocalActivityMarkerData>(payload);
  const step: TimelineStep = {
    name: stepName(data.activity_type),
    activityType: data.activity_type,
    state: !marker.failure ? 'completed' : marker.failure.timeoutFailureInfo ? 'timed_out' : 'failed',
    attempts: data.attempt,
    startTime: timestampIso(data.original_schedule_time) ?? iso(event),
    // The marker is written when the workflow task that saw the outcome completes.
    endTime: iso(event),
  };
  if (marker.failure) step.lastFailure = await describeFailure(marker.failure);
  return step;
}

/** One step per activity or local activity from the history, plus the pending activities' attempts and failures while open. */
export async function buildTimeline(
  events: HistoryEvent[],
  pending: PendingActivity[],
  describeFailure: DescribeFailure,
): Promise<TimelineStep[]> {
  const steps = new Map<string, TimelineStep & { activityId?: string }>();
  const byActivityId = new Map<string, TimelineStep>();
  for (const event of events) {
    const localStep = await localActivityStep(event, describeFailure);
    if (localStep) {
      steps.set(String(event.eventId), localStep);
      continue;
    }
    const scheduled = event.activityTaskScheduledEventAttributes;
    if (scheduled) {
      const activityType = scheduled.activityType?.name ?? 'unknown';
      const step = {
        name: stepName(activityType),
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
