import { fileURLToPath } from 'node:url';
import type { DataConverter } from '@temporalio/common';
import type { CodecConfig } from '../config/codec.js';
import { EncryptionCodec } from './encryption-codec.js';

/**
 * The failure converter that moves failure messages and stack traces into an (encrypted) payload. A
 * prebuilt workflow bundle must be built with it too: `bundleWorkflowCode({ failureConverterPath })`.
 */
export const FAILURE_CONVERTER_PATH = fileURLToPath(new URL('./failure-converter.cjs', import.meta.url));

/**
 * The data converter of every Temporal client and worker of this service: payloads and failure
 * messages encrypted, or the SDK's default when encryption is explicitly disabled.
 */
export function createDataConverter(codec: CodecConfig): DataConverter {
  if (!codec.enabled) return {};
  return { payloadCodecs: [new EncryptionCodec(codec.keys)], failureConverterPath: FAILURE_CONVERTER_PATH };
}

/** One line for a process's start-up log: what protects the payloads it writes. */
export function describeCodec(codec: CodecConfig): string {
  if (!codec.enabled)
    return 'Payload encryption is OFF (TEMPORAL_CODEC_DISABLED=true): inputs, results and failure messages are stored in plain text';
  const [primary, ...others] = codec.keys;
  return `Payloads encrypted with key "${primary.id}"${others.length > 0 ? `; also decrypting with ${others.map((key) => `"${key.id}"`).join(', ')}` : ''}`;
}
