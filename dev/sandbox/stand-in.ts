import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** A request as a stand-in received it, and the status it answered (0 for a dropped connection). */
export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  status: number;
  /** When the request arrived and when it was answered (ms since the epoch; answeredAt 0 if dropped). */
  receivedAt: number;
  answeredAt: number;
  /** The injected fault this request met, if any. */
  fault?: Fault;
  /** The answer was one stored earlier for the same idempotency key (`Idempotent-Replayed: true`). */
  replayed?: boolean;
}

export interface StandInRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface StandInReply {
  status: number;
  body?: unknown;
  /** Sent as is instead of `body` as JSON, for a page a person reads; `headers` give its content-type. */
  text?: string;
  headers?: Record<string, string>;
  /** Drop the connection instead of answering: the work is done, the caller never learns it. */
  dropConnection?: boolean;
}

/**
 * An injected fault, consumed by the next request: answer `status` (with the provider's error body
 * unless `body` is given) without handling it; drop the connection before handling it; handle it and
 * then drop the connection (the work is done, the caller never learns it); handle it and then answer
 * `statusAfterHandling` with the provider's error body (the work is done, the caller is told it
 * failed); or handle it and hold the answer for `delayMs`.
 */
export type Fault =
  { status: number; body?: unknown } | { drop: true } | { dropAfterHandling: true } | { statusAfterHandling: number } | { delayMs: number };

/** Random faults for load and fault runs: each request meets a fault with probability `rate`. */
export interface RandomFaults {
  rate: number;
  faults: Fault[];
  random?: () => number;
}

/**
 * The base of every local provider stand-in: a real HTTP server on loopback that records what it
 * received and can be told to fail, so tests assert on what reached the outside world.
 */
export abstract class StandIn {
  readonly requests: RecordedRequest[] = [];
  /** Added before every answer, to model a provider's latency. */
  latencyMs = 0;
  private readonly pendingFaults: Fault[] = [];
  private randomFaults: RandomFaults | undefined;
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();

  constructor(readonly name: string) {
    this.server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const received: StandInRequest = {
          method: request.method ?? 'GET',
          path: request.url ?? '/',
          headers: request.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        };
        void this.answer(received, response);
      });
    });
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  /** The next `count` requests meet `fault`. */
  failNext(count: number, fault: Fault): void {
    for (let i = 0; i < count; i += 1) this.pendingFaults.push(fault);
  }

  setRandomFaults(randomFaults: RandomFaults | undefined): void {
    this.randomFaults = randomFaults;
  }

  /** Starts listening on a free loopback port; resolves with the base URL. */
  async listen(): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', () => resolve());
    });
    const address = this.server.address() as AddressInfo;
    return `http://127.0.0.1:${address.port}`;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  protected abstract handle(request: StandInRequest): StandInReply | Promise<StandInReply>;

  /** The provider's error body for an injected status. */
  protected abstract errorBody(status: number): unknown;

  /** Headers the provider sends with an error status, such as a 429's `Retry-After`. */
  protected errorHeaders(_status: number): Record<string, string> | undefined {
    return undefined;
  }

  /**
   * The answer to a request that was handled (`reply`) but meets a `statusAfterHandling` fault. A
   * provider that remembers its answers (Stripe's idempotency keys) overrides this to remember the error.
   */
  protected afterExecutionError(_request: StandInRequest, _reply: StandInReply, status: number): StandInReply {
    return { status, body: this.errorBody(status) };
  }

  private nextFault(): Fault | undefined {
    const pending = this.pendingFaults.shift();
    if (pending) return pending;
    const random = this.randomFaults;
    if (!random || random.faults.length === 0) return undefined;
    const roll = random.random ?? Math.random;
    return roll() < random.rate ? random.faults[Math.floor(roll() * random.faults.length)] : undefined;
  }

  private async answer(request: StandInRequest, response: ServerResponse): Promise<void> {
    const record: RecordedRequest = { ...request, status: 0, receivedAt: Date.now(), answeredAt: 0 };
    this.requests.push(record);
    if (this.latencyMs > 0) await sleep(this.latencyMs);
    const fault = this.nextFault();
    if (fault) record.fault = fault;
    if (fault && 'drop' in fault) {
      response.socket?.destroy();
      return;
    }
    let reply: StandInReply;
    if (fault && 'status' in fault) {
      const headers = this.errorHeaders(fault.status);
      reply = { status: fault.status, body: fault.body ?? this.errorBody(fault.status), ...(headers && { headers }) };
    } else {
      try {
        reply = await this.handle(request);
      } catch (error) {
        reply = { status: 500, body: this.errorBody(500) };
        console.error(`${this.name} stand-in failed on ${request.method} ${request.path}:`, error);
      }
      if (fault && 'delayMs' in fault) await sleep(fault.delayMs);
      if (fault && 'statusAfterHandling' in fault) reply = this.afterExecutionError(request, reply, fault.statusAfterHandling);
      if ((fault && 'dropAfterHandling' in fault) || reply.dropConnection) {
        response.socket?.destroy();
        return;
      }
    }
    record.status = reply.status;
    if (reply.headers?.['idempotent-replayed'] === 'true') record.replayed = true;
    if (response.destroyed) return;
    record.answeredAt = Date.now();
    const payload = reply.text ?? (reply.body === undefined ? '' : JSON.stringify(reply.body));
    response.writeHead(reply.status, {
      ...(payload && reply.text === undefined && { 'content-type': 'application/json' }),
      ...reply.headers,
    });
    response.end(payload);
  }
}

/** The bearer token of a request, or undefined. */
export function bearerToken(headers: IncomingHttpHeaders): string | undefined {
  return /^Bearer (.+)$/.exec(headers.authorization ?? '')?.[1];
}
