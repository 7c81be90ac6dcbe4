import { afterEach, beforeEach } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildApp, type AppDeps } from '../../src/api/app.js';
import { TemporalStandIn } from './temporal-stand-in.js';

/** For each test: a fresh stand-in Temporal and the API built on it, handed to `use`; the API is closed after the test. */
export function useApiOnStandIn(deps: Omit<AppDeps, 'client'>, use: (temporal: TemporalStandIn, app: FastifyInstance) => void): void {
  let app: FastifyInstance | undefined;
  beforeEach(() => {
    const temporal = new TemporalStandIn();
    app = buildApp({ ...deps, client: temporal.client() });
    use(temporal, app);
  });
  afterEach(async () => {
    await app?.close();
  });
}
