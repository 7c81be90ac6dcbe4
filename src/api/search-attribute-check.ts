import { isGrpcServiceError, type Client } from '@temporalio/client';
import { status as GrpcStatus } from '@grpc/grpc-js';
import proto from '@temporalio/proto';
import type { FastifyReply } from 'fastify';
import { ORDER_IDEMPOTENCY_KEY, ORDER_SEARCH_ATTRIBUTES, type OrderSearchAttribute } from '../domain/search-attributes.js';
import { sendError } from '../http/error-reply.js';

const { IndexedValueType } = proto.temporal.api.enums.v1;
const CHECK_DEADLINE_MS = 2_000;
const UNCHECKABLE = [GrpcStatus.PERMISSION_DENIED, GrpcStatus.UNIMPLEMENTED];

/** The search attributes the service needs that the namespace lacks, and the command that registers them. */
export interface MissingSearchAttributes {
  missing: readonly OrderSearchAttribute[];
  namespace: string;
}

/** Asks again on each call while any is missing, so registering it takes effect without a restart; "all there" is kept. */
export function createSearchAttributeCheck(client: Client): () => Promise<MissingSearchAttributes | undefined> {
  let registered = false;
  return async () => {
    if (registered) return undefined;
    const { namespace } = client.options;
    let customAttributes;
    try {
      ({ customAttributes } = await client.connection.withDeadline(Date.now() + CHECK_DEADLINE_MS, () =>
        client.connection.operatorService.listSearchAttributes({ namespace }),
      ));
    } catch (error) {
      // Some identities may not list search attributes (a namespace-scoped Temporal Cloud key, a server
      // without the operator API): the check cannot be made, so it does not hold the service back.
      if (isGrpcServiceError(error) && UNCHECKABLE.includes(error.code)) return undefined;
      throw error;
    }
    const missing = ORDER_SEARCH_ATTRIBUTES.filter(
      ({ key }) => customAttributes?.[key.name] !== IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
    );
    registered = missing.length === 0;
    return registered ? undefined : { missing, namespace };
  };
}

/** What a trigger needs: OrderOutcome always, OrderIdempotencyKey only when it carries a key. */
export function missingForTrigger(found: MissingSearchAttributes | undefined, keyed: boolean): MissingSearchAttributes | undefined {
  const missing = found?.missing.filter(({ key }) => keyed || key !== ORDER_IDEMPOTENCY_KEY) ?? [];
  return found && missing.length > 0 ? { ...found, missing } : undefined;
}

/** 503: the service cannot go on until an operator registers the attributes; names each, why, and the command. */
export function sendSearchAttributesMissing(reply: FastifyReply, { missing, namespace }: MissingSearchAttributes): FastifyReply {
  const searchAttributes = missing.map(({ key }) => key.name);
  const command = `temporal operator search-attribute create --namespace ${namespace} ${searchAttributes.map((name) => `--name ${name} --type Keyword`).join(' ')}`;
  const why = missing.map(({ key, purpose }) => `${key.name} (Keyword: ${purpose})`).join('; ');
  return sendError(
    reply,
    503,
    'search_attribute_missing',
    `Namespace ${namespace} lacks the search attributes ${why}; register them: ${command}`,
    { searchAttributes, namespace, command },
  );
}
