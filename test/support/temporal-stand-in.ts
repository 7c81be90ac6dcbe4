/**
 * A stand-in Temporal frontend for the unit tier, in process: the real `@temporalio/client` Client talks
 * to it through a ConnectionLike whose WorkflowService and OperatorService are the SDK's own protobuf
 * services, so every request and answer is encoded and decoded as on the wire and the client maps errors
 * itself (ALREADY_EXISTS to WorkflowExecutionAlreadyStartedError, NOT_FOUND to WorkflowNotFoundError,
 * UNAVAILABLE to a ServiceError). It keeps runs as the server does (workflow ID reuse and conflict
 * policies, request IDs, registered search attributes, signals and cancellation to open runs only) and
 * records every request it received, decoded. No worker polls it: a query or an update waits, as on a
 * real server, until the caller's deadline or abort signal, unless a test gives the run's worker an answer
 * (`answerQuery`, `rejectUpdates`).
 */
import { randomUUID } from 'node:crypto';
import { AsyncLocalStorage } from 'node:async_hooks';
import { Metadata, status as GrpcStatus } from '@grpc/grpc-js';
import { Client, type ConnectionLike } from '@temporalio/client';
import { defaultPayloadConverter, fromPayloadsAtIndex, type Payload } from '@temporalio/common';
import { msToTs } from '@temporalio/common/lib/time.js';
import proto from '@temporalio/proto';
import type { Method, RPCImpl } from 'protobufjs';
import { ORDER_SEARCH_ATTRIBUTES } from '../../src/domain/search-attributes.js';

const {
  WorkflowExecutionStatus,
  WorkflowIdReusePolicy,
  WorkflowIdConflictPolicy,
  IndexedValueType,
  EventType,
  HistoryEventFilterType,
  UpdateWorkflowExecutionLifecycleStage,
} = proto.temporal.api.enums.v1;
const { WorkflowService } = proto.temporal.api.workflowservice.v1;
const { OperatorService } = proto.temporal.api.operatorservice.v1;

type Request = Record<string, any>;
type Answer = Record<string, unknown>;
type Handler = (request: Request) => Answer | Promise<Answer>;

/** One request the stand-in received: the RPC's name (`StartWorkflowExecution`) and the decoded message. */
export interface ReceivedRequest {
  method: string;
  request: Request;
}

export interface StandInRun {
  workflowId: string;
  runId: string;
  workflowType: string;
  taskQueue: string;
  status: proto.temporal.api.enums.v1.WorkflowExecutionStatus;
  startTime: Date;
  closeTime?: Date;
  /** The StartWorkflowExecution request that started it, decoded. */
  start: Request;
  /** Signals received while it was open: name and input payloads. */
  signals: { name: string; input: Payload[] }[];
  cancelRequested: boolean;
  closeEvent?: Answer;
  /** What its worker answers to a query, by query type (`answerQuery`). */
  queryAnswers: Map<string, unknown>;
}

export interface TemporalStandInOptions {
  namespace?: string;
  /** The namespace's custom search attributes; by default the ones the service writes, as Keyword. */
  searchAttributes?: Record<string, proto.temporal.api.enums.v1.IndexedValueType>;
}

type CallContext = { deadline?: number; abortSignal?: AbortSignal };

function grpcError(code: GrpcStatus, details: string): Error {
  return Object.assign(new Error(`${code} ${GrpcStatus[code]}: ${details}`), { code, details, metadata: new Metadata() });
}

const STATUS_BY_QUERY_NAME: Record<string, proto.temporal.api.enums.v1.WorkflowExecutionStatus> = {
  Running: WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING,
  Completed: WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_COMPLETED,
  Failed: WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_FAILED,
  Canceled: WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_CANCELED,
  Terminated: WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_TERMINATED,
  TimedOut: WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_TIMED_OUT,
  ContinuedAsNew: WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW,
};

const timestamp = (date: Date) => msToTs(date.getTime());

export class TemporalStandIn {
  readonly namespace: string;
  /** Every request received, in order, decoded. */
  readonly requests: ReceivedRequest[] = [];
  /** The namespace's custom search attributes (name to IndexedValueType). */
  readonly searchAttributes: Record<string, proto.temporal.api.enums.v1.IndexedValueType>;
  /** While true every request fails UNAVAILABLE, as when the frontend cannot be reached. */
  unavailable = false;
  /**
   * While true a running run's worker rejects every update, as the SDK rejects an update with no handler or whose validator
   * throws: the server answers at once with the update's outcome, a failure.
   */
  rejectUpdates = false;
  readonly connection: ConnectionLike;
  /** Every run of every workflow ID, oldest first. */
  private readonly runsById = new Map<string, StandInRun[]>();
  private readonly closeWaiters = new Set<() => void>();
  private readonly calls = new AsyncLocalStorage<CallContext>();

  constructor({ namespace = 'default', searchAttributes }: TemporalStandInOptions = {}) {
    this.namespace = namespace;
    this.searchAttributes =
      searchAttributes ??
      Object.fromEntries(ORDER_SEARCH_ATTRIBUTES.map(({ key }) => [key.name, IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD]));
    const withContext = <R>(context: CallContext, fn: () => Promise<R>) => this.calls.run({ ...this.calls.getStore(), ...context }, fn);
    this.connection = {
      workflowService: WorkflowService.create(this.rpc(this.workflowHandlers()), false, false),
      operatorService: OperatorService.create(this.rpc(this.operatorHandlers()), false, false),
      plugins: [],
      close: async () => undefined,
      ensureConnected: async () => undefined,
      withDeadline: (deadline, fn) => withContext({ deadline: new Date(deadline).getTime() }, fn),
      withMetadata: (_metadata, fn) => fn(),
      withAbortSignal: (abortSignal, fn) => withContext({ abortSignal }, fn),
    };
  }

  /** A real Temporal client on this stand-in (the default data converter). */
  client(): Client {
    return new Client({ connection: this.connection, namespace: this.namespace });
  }

  /** The requests received for one RPC (`StartWorkflowExecution`, `SignalWorkflowExecution`, ...). */
  received(method: string): Request[] {
    return this.requests.filter((received) => received.method === method).map(({ request }) => request);
  }

  /** Every run started, oldest first. */
  runs(): StandInRun[] {
    return [...this.runsById.values()].flat().sort((a, b) => a.startTime.getTime() - b.startTime.getTime());
  }

  /** The latest run of a workflow ID. */
  run(workflowId: string): StandInRun | undefined {
    return this.runsById.get(workflowId)?.at(-1);
  }

  /** The first argument a run was started with, decoded. */
  argOf(run: StandInRun): unknown {
    return fromPayloadsAtIndex(defaultPayloadConverter, 0, run.start.input?.payloads);
  }

  /** The signals an open run received: their names and first arguments, decoded. */
  signalsTo(workflowId: string): { name: string; arg: unknown }[] {
    return (this.run(workflowId)?.signals ?? []).map(({ name, input }) => ({
      name,
      arg: fromPayloadsAtIndex(defaultPayloadConverter, 0, input),
    }));
  }

  /** From now on the worker of the latest run of `workflowId` answers the query `queryType` with `answer`. */
  answerQuery(workflowId: string, queryType: string, answer: unknown): void {
    const run = this.run(workflowId);
    if (!run) throw new Error(`No run of ${workflowId} to answer queries`);
    run.queryAnswers.set(queryType, answer);
  }

  /** Closes the latest run of `workflowId` as a worker would: completed with `result`. */
  complete(workflowId: string, result: unknown): void {
    this.close(workflowId, WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_COMPLETED, {
      eventType: EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
      workflowExecutionCompletedEventAttributes: { result: { payloads: [defaultPayloadConverter.toPayload(result)] } },
    });
  }

  /** Closes the latest run of `workflowId` as failed with an ApplicationFailure of `type`. */
  fail(workflowId: string, type: string, message: string): void {
    this.close(workflowId, WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_FAILED, {
      eventType: EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
      workflowExecutionFailedEventAttributes: { failure: { message, applicationFailureInfo: { type, nonRetryable: true } } },
    });
  }

  private close(workflowId: string, status: proto.temporal.api.enums.v1.WorkflowExecutionStatus, event: Answer): void {
    const run = this.openRun(workflowId);
    if (!run) throw new Error(`No open run of ${workflowId} to close`);
    run.status = status;
    run.closeTime = new Date();
    run.closeEvent = event;
    for (const wake of this.closeWaiters) wake();
  }

  private openRun(workflowId: string): StandInRun | undefined {
    const run = this.run(workflowId);
    return run?.status === WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING ? run : undefined;
  }

  /** The run a request names (its runId, else the latest), or NOT_FOUND as the server answers. */
  private runOf(execution: Request | null | undefined): StandInRun {
    const workflowId = execution?.workflowId ?? '';
    const runs = this.runsById.get(workflowId) ?? [];
    const run = execution?.runId ? runs.find((candidate) => candidate.runId === execution.runId) : runs.at(-1);
    if (!run) throw grpcError(GrpcStatus.NOT_FOUND, `workflow not found for ID: ${workflowId}`);
    return run;
  }

  /** The run, which must still be running, as Temporal answers signals, cancels and terminations. */
  private runningRunOf(execution: Request | null | undefined): StandInRun {
    const run = this.runOf(execution);
    if (run.status !== WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING)
      throw grpcError(GrpcStatus.NOT_FOUND, 'workflow execution already completed');
    return run;
  }

  private checkNamespace(request: Request): void {
    if (request.namespace !== this.namespace) throw grpcError(GrpcStatus.NOT_FOUND, `Namespace ${request.namespace} is not found.`);
  }

  /** Never answers: what a caller sees when no worker picks the request up. The deadline or abort signal ends it. */
  private noWorker(): Promise<Answer> {
    return new Promise(() => undefined);
  }

  private untilClosed(run: StandInRun): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        if (run.status === WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING) return;
        this.closeWaiters.delete(wake);
        resolve();
      };
      this.closeWaiters.add(wake);
      wake();
    });
  }

  private history(run: StandInRun): Answer[] {
    const { start } = run;
    const events: Answer[] = [
      {
        eventType: EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
        eventTime: timestamp(run.startTime),
        workflowExecutionStartedEventAttributes: {
          workflowType: start.workflowType,
          taskQueue: start.taskQueue,
          input: start.input,
          memo: start.memo,
          searchAttributes: start.searchAttributes,
          originalExecutionRunId: run.runId,
          firstExecutionRunId: run.runId,
        },
      },
      ...run.signals.map(({ name, input }) => ({
        eventType: EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
        eventTime: timestamp(run.startTime),
        workflowExecutionSignaledEventAttributes: { signalName: name, input: { payloads: input } },
      })),
      ...(run.closeEvent ? [{ ...run.closeEvent, eventTime: timestamp(run.closeTime!) }] : []),
    ];
    return events.map((event, index) => ({ ...event, eventId: index + 1 }));
  }

  private executionInfo(run: StandInRun): Answer {
    return {
      execution: { workflowId: run.workflowId, runId: run.runId },
      type: { name: run.workflowType },
      taskQueue: run.taskQueue,
      status: run.status,
      startTime: timestamp(run.startTime),
      executionTime: timestamp(run.startTime),
      ...(run.closeTime && { closeTime: timestamp(run.closeTime) }),
      historyLength: this.history(run).length,
      memo: run.start.memo,
      searchAttributes: run.start.searchAttributes,
    };
  }

  private start(request: Request): Answer {
    this.checkNamespace(request);
    const workflowId: string = request.workflowId;
    for (const name of Object.keys(request.searchAttributes?.indexedFields ?? {})) {
      if (this.searchAttributes[name] === undefined)
        throw grpcError(GrpcStatus.INVALID_ARGUMENT, `Namespace ${this.namespace} has no mapping defined for search attribute ${name}`);
    }
    const latest = this.run(workflowId);
    if (latest?.status === WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING) {
      if (latest.start.requestId === request.requestId) return { runId: latest.runId, started: false };
      if (request.workflowIdConflictPolicy === WorkflowIdConflictPolicy.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING)
        return { runId: latest.runId, started: false };
      if (request.workflowIdConflictPolicy !== WorkflowIdConflictPolicy.WORKFLOW_ID_CONFLICT_POLICY_TERMINATE_EXISTING)
        throw grpcError(
          GrpcStatus.ALREADY_EXISTS,
          `Workflow execution is already running. WorkflowId: ${workflowId}, RunId: ${latest.runId}.`,
        );
      this.close(workflowId, WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_TERMINATED, {
        eventType: EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED,
      });
    } else if (latest) {
      const policy = request.workflowIdReusePolicy;
      const failed = latest.status !== WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_COMPLETED;
      if (
        policy === WorkflowIdReusePolicy.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE ||
        (policy === WorkflowIdReusePolicy.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY && !failed)
      ) {
        throw grpcError(
          GrpcStatus.ALREADY_EXISTS,
          `Workflow execution already finished and WorkflowIdReusePolicy disallows it. WorkflowId: ${workflowId}, RunId: ${latest.runId}.`,
        );
      }
    }
    const run: StandInRun = {
      workflowId,
      runId: randomUUID(),
      workflowType: request.workflowType?.name ?? '',
      taskQueue: request.taskQueue?.name ?? '',
      status: WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING,
      startTime: new Date(),
      start: request,
      signals: [],
      cancelRequested: false,
      queryAnswers: new Map(),
    };
    this.runsById.set(workflowId, [...(this.runsById.get(workflowId) ?? []), run]);
    return { runId: run.runId, started: true };
  }

  /** `ListWorkflowExecutions`: the clauses the API writes (`Name = 'v'`, `StartTime > 'iso'`) joined by AND. */
  private list(request: Request): Answer {
    this.checkNamespace(request);
    const matches = (request.query as string)
      .split(' AND ')
      .filter(Boolean)
      .map((clause) => {
        const parsed = /^(\w+) (=|<|>) '([^']*)'$/.exec(clause);
        if (!parsed) throw grpcError(GrpcStatus.INVALID_ARGUMENT, `invalid query: unable to parse ${clause}`);
        const [, name, operator, value] = parsed;
        return (run: StandInRun): boolean => {
          if (name === 'StartTime') {
            const at = Date.parse(value);
            return operator === '>' ? run.startTime.getTime() > at : run.startTime.getTime() < at;
          }
          const actual = this.attributeOf(run, name);
          if (typeof actual === 'symbol') throw grpcError(GrpcStatus.INVALID_ARGUMENT, `invalid query: unknown search attribute ${name}`);
          return operator === '=' && (name === 'ExecutionStatus' ? actual === STATUS_BY_QUERY_NAME[value] : actual === value);
        };
      });
    const found = this.runs()
      .reverse()
      .filter((run) => matches.every((match) => match(run)));
    const offset = request.nextPageToken?.length ? Number(Buffer.from(request.nextPageToken).toString()) : 0;
    const pageSize = request.pageSize || 1000;
    const page = found.slice(offset, offset + pageSize);
    const next = offset + pageSize < found.length ? Buffer.from(String(offset + pageSize)) : undefined;
    return { executions: page.map((run) => this.executionInfo(run)), ...(next && { nextPageToken: next }) };
  }

  /** A run's value for a visibility query's attribute; a symbol for an attribute the namespace does not know. */
  private attributeOf(run: StandInRun, name: string): unknown {
    const system: Record<string, unknown> = {
      WorkflowType: run.workflowType,
      TaskQueue: run.taskQueue,
      WorkflowId: run.workflowId,
      ExecutionStatus: run.status,
    };
    if (name in system) return system[name];
    if (this.searchAttributes[name] === undefined) return Symbol.for('unknown');
    const payload = run.start.searchAttributes?.indexedFields?.[name] as Payload | undefined;
    return payload ? defaultPayloadConverter.fromPayload(payload) : undefined;
  }

  private workflowHandlers(): Record<string, Handler> {
    return {
      StartWorkflowExecution: (request) => this.start(request),
      DescribeWorkflowExecution: (request) => {
        this.checkNamespace(request);
        const run = this.runOf(request.execution);
        return {
          executionConfig: { taskQueue: run.start.taskQueue, ...(run.start.userMetadata && { userMetadata: run.start.userMetadata }) },
          workflowExecutionInfo: this.executionInfo(run),
          pendingActivities: [],
        };
      },
      GetWorkflowExecutionHistory: async (request) => {
        this.checkNamespace(request);
        const run = this.runOf(request.execution);
        if (request.historyEventFilterType === HistoryEventFilterType.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT) {
          if (request.waitNewEvent) await this.untilClosed(run);
          return { history: { events: this.history(run).slice(-1) } };
        }
        return { history: { events: this.history(run) } };
      },
      SignalWorkflowExecution: (request) => {
        this.checkNamespace(request);
        const run = this.runningRunOf(request.workflowExecution);
        run.signals.push({ name: request.signalName, input: request.input?.payloads ?? [] });
        return {};
      },
      RequestCancelWorkflowExecution: (request) => {
        this.checkNamespace(request);
        const run = this.runningRunOf(request.workflowExecution);
        run.cancelRequested = true;
        return {};
      },
      TerminateWorkflowExecution: (request) => {
        this.checkNamespace(request);
        const run = this.runningRunOf(request.workflowExecution);
        this.close(run.workflowId, WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_TERMINATED, {
          eventType: EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED,
        });
        return {};
      },
      QueryWorkflow: (request) => {
        this.checkNamespace(request);
        const { queryAnswers } = this.runOf(request.execution);
        const queryType: string = request.query?.queryType ?? '';
        if (!queryAnswers.has(queryType)) return this.noWorker();
        return { queryResult: { payloads: [defaultPayloadConverter.toPayload(queryAnswers.get(queryType))] } };
      },
      UpdateWorkflowExecution: (request) => {
        this.checkNamespace(request);
        const run = this.runningRunOf(request.workflowExecution);
        if (!this.rejectUpdates) return this.noWorker();
        const name: string = request.request?.input?.name ?? '';
        return {
          updateRef: { workflowExecution: { workflowId: run.workflowId, runId: run.runId }, updateId: request.request?.meta?.updateId },
          outcome: {
            failure: {
              message: `No registered handler for update: ${name}`,
              source: 'TypeScriptSDK',
              applicationFailureInfo: { nonRetryable: true },
            },
          },
          stage: UpdateWorkflowExecutionLifecycleStage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_COMPLETED,
        };
      },
      ListWorkflowExecutions: (request) => this.list(request),
      DescribeNamespace: (request) => {
        this.checkNamespace(request);
        return { namespaceInfo: { name: this.namespace, state: proto.temporal.api.enums.v1.NamespaceState.NAMESPACE_STATE_REGISTERED } };
      },
    };
  }

  private operatorHandlers(): Record<string, Handler> {
    return {
      ListSearchAttributes: (request) => {
        this.checkNamespace(request);
        return { customAttributes: { ...this.searchAttributes } };
      },
    };
  }

  /**
   * A protobufjs rpcImpl: decodes the request as the server would, answers through `handlers`, and
   * fails as gRPC does on the caller's deadline (DEADLINE_EXCEEDED) or abort signal (CANCELLED).
   */
  private rpc(handlers: Record<string, Handler>): RPCImpl {
    return (serviceMethod, requestData, callback) => {
      // The SDK's services are built by reflection (Service.create): each call names its reflected Method.
      const method = serviceMethod as Method;
      const requestType = method.resolvedRequestType!;
      const responseType = method.resolvedResponseType!;
      const { deadline, abortSignal } = this.calls.getStore() ?? {};
      const request = requestType.decode(requestData) as Request;
      this.requests.push({ method: method.name, request });
      const handler = handlers[method.name];
      const timers: NodeJS.Timeout[] = [];
      const outcome = new Promise<Answer>((resolve, reject) => {
        if (this.unavailable) return reject(grpcError(GrpcStatus.UNAVAILABLE, 'No connection established'));
        if (!handler) return reject(grpcError(GrpcStatus.UNIMPLEMENTED, `The stand-in does not serve ${method.name}`));
        if (deadline !== undefined)
          timers.push(
            setTimeout(() => reject(grpcError(GrpcStatus.DEADLINE_EXCEEDED, 'Deadline exceeded')), Math.max(0, deadline - Date.now())),
          );
        if (abortSignal?.aborted) return reject(grpcError(GrpcStatus.CANCELLED, 'Cancelled on client'));
        abortSignal?.addEventListener('abort', () => reject(grpcError(GrpcStatus.CANCELLED, 'Cancelled on client')), { once: true });
        Promise.resolve()
          .then(() => handler(request))
          .then(resolve, reject);
      });
      outcome.then(
        (answer) => {
          timers.forEach(clearTimeout);
          callback(null, responseType.encode(responseType.fromObject(answer)).finish());
        },
        (error: Error) => {
          timers.forEach(clearTimeout);
          callback(error);
        },
      );
    };
  }
}
