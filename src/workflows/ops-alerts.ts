import type { OrderActivities } from '../activities/create-activities.js';
import { NOTIFICATION_OPTIONS } from './activity-options.js';
import { orderActivity } from './activity-proxies.js';
import { countOrderEvent } from './counters.js';

const notifyOps = orderActivity('notifyOps', NOTIFICATION_OPTIONS);

/** Notify Ops never stops a run from recording what it reports: a failed alert is counted, not thrown. */
export async function tryNotifyOps(alert: Parameters<OrderActivities['notifyOps']>[0]): Promise<boolean> {
  try {
    await notifyOps(alert);
    return true;
  } catch {
    countOrderEvent('opsAlertFailed');
    return false;
  }
}
