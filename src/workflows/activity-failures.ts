import { ActivityFailure, ApplicationFailure } from '@temporalio/workflow';

/** The root cause's message of an activity failure, for people to read. */
export function failureMessage(error: unknown): string {
  if (error instanceof ActivityFailure && error.cause) return error.cause.message;
  return error instanceof Error ? error.message : String(error);
}

/**
 * The ApplicationFailure an activity threw. An activity task's failure arrives wrapped in an
 * ActivityFailure; a local activity's failure arrives as the ApplicationFailure itself.
 */
export function applicationFailureOf(error: unknown): ApplicationFailure | undefined {
  const cause = error instanceof ActivityFailure ? error.cause : error;
  return cause instanceof ApplicationFailure ? cause : undefined;
}

export function failureType(error: unknown): string | undefined {
  return applicationFailureOf(error)?.type ?? undefined;
}
