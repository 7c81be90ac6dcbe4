import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { METADATA_ENCODING_KEY, ValueError, type Payload, type PayloadCodec } from '@temporalio/common';
import proto from '@temporalio/proto';
import type { CodecKey } from '../config/codec.js';

const ENCRYPTED_ENCODING = 'binary/encrypted';
const METADATA_KEY_ID = 'encryption-key-id';
const METADATA_CIPHER = 'encryption-cipher';
const CIPHER = 'aes-256-gcm';
const CIPHER_NAME = 'AES-256-GCM';
const { Payload: PayloadMessage } = proto.temporal.api.common.v1;
const IV_BYTES = 12;
const TAG_BYTES = 16;

const utf8 = (value: string) => Buffer.from(value, 'utf8');
const text = (bytes: Uint8Array | null | undefined) => (bytes ? Buffer.from(bytes).toString('utf8') : undefined);

/** A payload encrypted with a key this process does not hold. */
export class UnknownEncryptionKeyError extends Error {
  constructor(readonly keyId: string) {
    super(
      `Payload was encrypted with key "${keyId}", which is not configured: add "${keyId}:<base64 key>" to TEMPORAL_CODEC_KEYS ` +
        `(after the first entry: only the first key encrypts, every listed key decrypts)`,
    );
    this.name = 'UnknownEncryptionKeyError';
  }
}

/**
 * The whole payload is encrypted, metadata included, so even its encoding stays private (docs/encryption.md#how). The key ID
 * travels with it, so keys listed after the first keep old payloads readable during a rotation.
 */
export class EncryptionCodec implements PayloadCodec {
  private readonly encryptionKey: CodecKey;
  private readonly keys: ReadonlyMap<string, Buffer>;

  constructor(keys: readonly CodecKey[]) {
    const [first] = keys;
    if (!first) throw new ValueError('EncryptionCodec needs at least one key');
    this.encryptionKey = first;
    this.keys = new Map(keys.map(({ id, key }) => [id, key]));
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => this.encrypt(payload));
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => this.decrypt(payload));
  }

  private encrypt(payload: Payload): Payload {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv(CIPHER, this.encryptionKey.key, iv);
    const plain = PayloadMessage.encode(payload).finish();
    const data = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
    return {
      metadata: {
        [METADATA_ENCODING_KEY]: utf8(ENCRYPTED_ENCODING),
        [METADATA_CIPHER]: utf8(CIPHER_NAME),
        [METADATA_KEY_ID]: utf8(this.encryptionKey.id),
      },
      data,
    };
  }

  private decrypt(payload: Payload): Payload {
    if (text(payload.metadata?.[METADATA_ENCODING_KEY]) !== ENCRYPTED_ENCODING) return payload;
    const keyId = text(payload.metadata?.[METADATA_KEY_ID]);
    if (!keyId) throw new ValueError(`Encrypted payload has no "${METADATA_KEY_ID}" metadata: it cannot be decrypted`);
    const key = this.keys.get(keyId);
    if (!key) throw new UnknownEncryptionKeyError(keyId);
    const data = Buffer.from(payload.data ?? []);
    if (data.length < IV_BYTES + TAG_BYTES) throw new ValueError(`Payload encrypted with key "${keyId}" is truncated`);
    const decipher = createDecipheriv(CIPHER, key, data.subarray(0, IV_BYTES));
    decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
    let plain: Buffer;
    try {
      plain = Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]);
    } catch {
      throw new ValueError(
        `Payload encrypted with key "${keyId}" failed authentication: it was altered, or TEMPORAL_CODEC_KEYS holds a different key under that ID`,
      );
    }
    return PayloadMessage.decode(plain);
  }
}
