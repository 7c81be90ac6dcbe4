/** A run's status as the API reports it: Temporal's execution status, in lower case. */
export const RUN_STATUSES = ['running', 'completed', 'failed', 'cancelled', 'terminated', 'timed_out', 'continued_as_new'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number] | 'unknown';

export function runStatus(name: string): RunStatus {
  const status = name
    .toLowerCase()
    .replace(/^workflow_execution_status_/, '')
    .replace('canceled', 'cancelled');
  return (RUN_STATUSES as readonly string[]).includes(status) ? (status as RunStatus) : 'unknown';
}
