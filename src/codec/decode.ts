import type { PayloadCodec } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';

type Payload = temporal.api.common.v1.IPayload;
type Payloads = temporal.api.common.v1.IPayloads;
type Failure = temporal.api.failure.v1.IFailure;

/** Payloads as stored by Temporal, decoded by the codecs: last first, the reverse of encoding, as the SDK does. */
export async function decodePayloads(payloads: readonly Payload[], codecs: readonly PayloadCodec[]): Promise<Payload[]> {
  let decoded = [...payloads];
  for (const codec of [...codecs].reverse()) decoded = await codec.decode(decoded);
  return decoded;
}

async function decodeDetails(details: Payloads | null | undefined, codecs: readonly PayloadCodec[]): Promise<Payloads | null | undefined> {
  return details?.payloads ? { payloads: await decodePayloads(details.payloads, codecs) } : details;
}

/**
 * A failure from a history event or a pending activity with every payload decoded (its encrypted
 * message and stack trace, its details, its causes), ready for the failure converter's failureToError.
 */
export async function decodeFailure(failure: Failure, codecs: readonly PayloadCodec[]): Promise<Failure> {
  const { encodedAttributes, applicationFailureInfo, timeoutFailureInfo, canceledFailureInfo, resetWorkflowFailureInfo, cause } = failure;
  return {
    ...failure,
    ...(encodedAttributes && { encodedAttributes: (await decodePayloads([encodedAttributes], codecs))[0] }),
    ...(applicationFailureInfo && {
      applicationFailureInfo: { ...applicationFailureInfo, details: await decodeDetails(applicationFailureInfo.details, codecs) },
    }),
    ...(timeoutFailureInfo && {
      timeoutFailureInfo: {
        ...timeoutFailureInfo,
        lastHeartbeatDetails: await decodeDetails(timeoutFailureInfo.lastHeartbeatDetails, codecs),
      },
    }),
    ...(canceledFailureInfo && {
      canceledFailureInfo: { ...canceledFailureInfo, details: await decodeDetails(canceledFailureInfo.details, codecs) },
    }),
    ...(resetWorkflowFailureInfo && {
      resetWorkflowFailureInfo: {
        ...resetWorkflowFailureInfo,
        lastHeartbeatDetails: await decodeDetails(resetWorkflowFailureInfo.lastHeartbeatDetails, codecs),
      },
    }),
    ...(cause && { cause: await decodeFailure(cause, codecs) }),
  };
}
