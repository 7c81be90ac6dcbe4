import type { PayloadCodec } from '@temporalio/common';
import { decodePayloads } from './decode.js';
import {
  historyFromJSON,
  historyToJSON,
  JSONToPayload,
  payloadToJSON,
  type History,
  type JSONPayload,
} from '@temporalio/common/lib/proto-utils.js';

const PAYLOAD_KEYS = new Set(['metadata', 'data', 'externalPayloads']);

function isJsonPayload(value: object): value is JSONPayload {
  const { metadata } = value as { metadata?: unknown };
  return typeof metadata === 'object' && metadata !== null && Object.keys(value).every((key) => PAYLOAD_KEYS.has(key));
}

/** Every payload in a proto JSON tree, with a setter to replace it in place. */
function collectPayloads(node: unknown, found: { payload: JSONPayload; replace: (next: JSONPayload) => void }[]): void {
  if (typeof node !== 'object' || node === null) return;
  for (const [key, child] of Object.entries(node as Record<string, unknown>)) {
    if (typeof child !== 'object' || child === null) continue;
    if (!Array.isArray(child) && isJsonPayload(child)) {
      found.push({ payload: child, replace: (next) => ((node as Record<string, unknown>)[key] = next) });
    } else {
      collectPayloads(child, found);
    }
  }
}

/**
 * A copy of a history with every payload decoded, as `temporal workflow show --codec-endpoint` shows it: for tools that keep
 * a history in the clear, such as the recorded replay fixtures.
 */
export async function decodeHistory(history: History, codecs: readonly PayloadCodec[]): Promise<History> {
  const json: unknown = JSON.parse(historyToJSON(history));
  const found: { payload: JSONPayload; replace: (next: JSONPayload) => void }[] = [];
  collectPayloads(json, found);
  const decoded = await decodePayloads(
    found.map(({ payload }) => JSONToPayload(payload)),
    codecs,
  );
  found.forEach(({ replace }, index) => replace(payloadToJSON(decoded[index])));
  return historyFromJSON(json);
}
