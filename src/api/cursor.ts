import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export interface CursorCodec {
  encode(pageToken: Uint8Array): string;
  /** The page token, or undefined when the cursor was not issued by this API (Temporal would retry a bad token for ~20 s). */
  decode(cursor: string): Buffer | undefined;
}

/** Temporal's page tokens, signed: the MAC key comes from the API keys, so every replica accepts the others' cursors. */
export function createCursorCodec(apiKeys: readonly string[]): CursorCodec {
  const secret = createHash('sha256')
    .update(`run-list-cursor\0${[...apiKeys].sort().join('\0')}`)
    .digest();
  const mac = (token: Uint8Array) => createHmac('sha256', secret).update(token).digest().subarray(0, 16);
  return {
    encode: (pageToken) => `${Buffer.from(pageToken).toString('base64url')}.${mac(pageToken).toString('base64url')}`,
    decode: (cursor) => {
      const [token, signature, ...rest] = cursor.split('.');
      if (!token || !signature || rest.length > 0) return undefined;
      const pageToken = Buffer.from(token, 'base64url');
      const given = Buffer.from(signature, 'base64url');
      const expected = mac(pageToken);
      return given.length === expected.length && timingSafeEqual(given, expected) ? pageToken : undefined;
    },
  };
}
