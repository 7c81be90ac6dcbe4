import { createHash, timingSafeEqual } from 'node:crypto';

/** Request headers that carry credentials: never in a log line (request bodies are never logged either). */
export const LOG_REDACTIONS = ['req.headers.authorization', 'req.headers.cookie'];

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/**
 * Constant time: equal-length SHA-256 digests, every configured token compared every time. Answers a stable, non-secret
 * name of the token (the rate limit's key), or undefined for a missing or wrong token.
 */
export function createBearerTokenVerifier(keys: readonly string[]): (authorization: string | undefined) => string | undefined {
  const keyDigests = keys.map(digest);
  return (authorization) => {
    const token = /^Bearer ([\x21-\x7e]{1,512})$/.exec(authorization ?? '')?.[1];
    if (token === undefined) return undefined;
    const given = digest(token);
    let accepted = false;
    for (const keyDigest of keyDigests) accepted = timingSafeEqual(keyDigest, given) || accepted;
    return accepted ? `key:${given.toString('hex').slice(0, 16)}` : undefined;
  };
}
