import { isGrpcServiceError, type Client } from '@temporalio/client';
import { status as GrpcStatus } from '@grpc/grpc-js';
import proto from '@temporalio/proto';
import type { FastifyReply } from 'fastify';
import { ORDER_IDEMPOTENCY_KEY } from '../start-order.js';
import { sendError } from './errors.js';

const { IndexedValueType } = proto.temporal.api.enums.v1;
const CHECK_DEADLINE_MS = 2_000;
const UNCHECKABLE = [GrpcStatus.PERMISSION_DENIED, GrpcStatus.UNIMPLEMENTED];

/** A search attribute the API needs that the namespace lacks, and the command that registers it. */
export interface MissingSearchAttribute {
  searchAttribute: string;
  namespace: string;
  command: string;
}

/**
 * Finds whether the namespace lacks the Keyword search attribute a keyed trigger writes
 * (OrderIdempotencyKey). Once found registered, that answer is kept; while missing, each call asks
 * again, so registering it takes effect without a restart.
 */
export function createSearchAttributeCheck(client: Client): () => Promise<MissingSearchAttribute | undefined> {
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
    registered = customAttributes?.[ORDER_IDEMPOTENCY_KEY.name] === IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD;
    if (registered) return undefined;
    const searchAttribute = ORDER_IDEMPOTENCY_KEY.name;
    return {
      searchAttribute,
      namespace,
      command: `temporal operator search-attribute create --namespace ${namespace} --name ${searchAttribute} --type Keyword`,
    };
  };
}

/** 503: the service cannot take keyed triggers until an operator registers the attribute. */
export function sendSearchAttributeMissing(
  reply: FastifyReply,
  { searchAttribute, namespace, command }: MissingSearchAttribute,
): FastifyReply {
  return sendError(
    reply,
    503,
    'search_attribute_missing',
    `Search attribute ${searchAttribute} (Keyword), which Idempotency-Key needs, is not registered in namespace ${namespace}; register it: ${command}`,
    { searchAttribute, namespace, command },
  );
}
