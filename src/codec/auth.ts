import { createHash, timingSafeEqual } from 'node:crypto';

const sha256 = (value: string) => createHash('sha256').update(value).digest();

/**
 * Checks `Authorization: Bearer <token>` against CODEC_AUTH_TOKENS in constant time: tokens are
 * compared as SHA-256 digests (equal lengths), and every configured token is compared every time.
 */
export function createBearerTokenCheck(tokens: readonly string[]): (authorization: string | undefined) => boolean {
  const digests = tokens.map(sha256);
  return (authorization) => {
    const token = /^Bearer ([\x21-\x7e]{1,512})$/.exec(authorization ?? '')?.[1];
    if (token === undefined) return false;
    const given = sha256(token);
    let accepted = false;
    for (const digest of digests) accepted = timingSafeEqual(digest, given) || accepted;
    return accepted;
  };
}
