import { createHash, timingSafeEqual } from 'node:crypto';

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/**
 * Checks `Authorization: Bearer <key>` against the configured keys in constant time: keys are
 * compared as SHA-256 digests (equal length), and every configured key is compared every time.
 */
export function createBearerKeyCheck(keys: readonly string[]): (authorization: string | undefined) => boolean {
  const keyDigests = keys.map(digest);
  return (authorization) => {
    const match = /^Bearer ([\x21-\x7e]{1,512})$/.exec(authorization ?? '');
    if (!match) return false;
    const given = digest(match[1]!);
    let accepted = false;
    for (const keyDigest of keyDigests) accepted = timingSafeEqual(keyDigest, given) || accepted;
    return accepted;
  };
}
