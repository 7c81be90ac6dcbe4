import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ORDER_IDEMPOTENCY_KEY } from '../src/start-order.js';
import { describe, it, expect } from 'vitest';
import { parse } from 'yaml';
import * as apiConfig from '../src/config/api.js';
import * as codecConfig from '../src/config/codec.js';
import { ConfigError } from '../src/config/env.js';
import * as processConfig from '../src/config/process.js';
import * as temporalConfig from '../src/config/temporal.js';
import * as workerConfig from '../src/config/worker.js';

// Checks docker-compose.yml and the Dockerfile against the code they run: the config loaders each
// entry point calls decide which variables are required and whether the stack's values are accepted.

/** The loaders (load*) of the configuration modules the worker and the API may import. */
const LOADERS: Record<string, unknown> = { ...apiConfig, ...codecConfig, ...processConfig, ...temporalConfig, ...workerConfig };

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const read = (file: string) => readFileSync(resolve(ROOT, file), 'utf8');

type Env = Record<string, string>;

interface LongPort {
  target: number | string;
  published?: number | string;
}

interface Service {
  image?: string;
  build?: string | { context?: string; dockerfile?: string };
  command?: string | string[];
  environment?: Record<string, string | number | boolean | null> | string[];
  ports?: (string | number | LongPort)[];
  expose?: (string | number)[];
  depends_on?: string[] | Record<string, { condition?: string }>;
  healthcheck?: { test?: string | string[] };
  volumes?: (string | { source?: string; target?: string })[];
  restart?: string;
}

interface ComposeFile {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

/** The entry point each of the image's two roles runs. */
const ENTRY_POINTS = { worker: 'src/worker.ts', api: 'src/api/server.ts' } as const;
type Role = keyof typeof ENTRY_POINTS;

/** What an operator's .env holds: a valid value for every secret the stack requires. */
const OPERATOR_ENV: Env = {
  STRIPE_SECRET_KEY: 'sk_test_compose',
  RESEND_API_KEY: 're_compose',
  RECEIPT_FROM: 'Shop <orders@shop.example.com>',
  SLACK_BOT_TOKEN: 'xoxb-compose',
  API_BASE_URL: 'https://shop.example.com/api',
  PAYMENT_ACTION_URL: 'https://shop.example.com/orders/{orderId}/pay',
  TRIGGER_API_KEYS: 'compose-trigger-key',
  TEMPORAL_CODEC_KEYS: 'compose-key:EE9BX+OaGdgKJlMiR35sT+JXAErZMpBuXcNT4fyYT8I=',
};

/** Compose's `${VAR:?message}` failure: the stack does not start and names what is missing. */
class MissingVariables extends Error {
  constructor(readonly names: string[]) {
    super(`Compose would refuse to start: ${names.join(', ')} not set`);
  }
}

/**
 * Compose variable interpolation for the forms this file may use: $$, $VAR, ${VAR}, ${VAR:-default},
 * ${VAR-default}, ${VAR:?message} and ${VAR?message}. Anything else fails the test rather than being
 * guessed at.
 */
function interpolate(value: string, hostEnv: Env, missing: string[]): string {
  return value.replace(/\$\$|\$\{([^}]*)\}|\$([A-Za-z_]\w*)/g, (match, braced?: string, bare?: string) => {
    if (match === '$$') return '$';
    if (bare !== undefined) return hostEnv[bare] ?? '';
    const parts = /^([A-Za-z_]\w*)(?:(:-|-|:\?|\?)(.*))?$/s.exec(braced ?? '');
    if (!parts || parts[3]?.includes('$')) throw new Error(`Unsupported interpolation "${match}" in docker-compose.yml`);
    const [, name, operator, argument] = parts;
    const set = hostEnv[name];
    const unset = operator?.startsWith(':') ? !set : set === undefined;
    if (!unset) return set ?? '';
    if (operator?.endsWith('-')) return argument;
    if (operator?.endsWith('?')) missing.push(name);
    return '';
  });
}

function loadCompose(): ComposeFile {
  const compose = parse(read('docker-compose.yml')) as ComposeFile;
  expect(compose?.services, 'docker-compose.yml has a services map').toBeTypeOf('object');
  return compose;
}

function service(name: string): Service {
  const found = loadCompose().services[name];
  expect(found, `service "${name}" in docker-compose.yml`).toBeDefined();
  return found;
}

/** A service's environment as written, before interpolation (map or list syntax). */
function rawEnvironment(name: string): Env {
  const environment = service(name).environment ?? {};
  const entries = Array.isArray(environment)
    ? environment.map((entry): [string, string] => {
        const equals = entry.indexOf('=');
        return equals === -1 ? [entry, `\${${entry}}`] : [entry.slice(0, equals), entry.slice(equals + 1)];
      })
    : Object.entries(environment).map(([key, value]): [string, string] => [key, value === null ? `\${${key}}` : String(value)]);
  return Object.fromEntries(entries);
}

/** The environment the container gets, for a given .env (throws MissingVariables like Compose does). */
function containerEnv(name: string, hostEnv: Env = OPERATOR_ENV): Env {
  const missing: string[] = [];
  const env = Object.fromEntries(
    Object.entries(rawEnvironment(name)).map(([key, value]) => [key, interpolate(value, hostEnv, missing)]),
  );
  if (missing.length > 0) throw new MissingVariables(missing);
  return env;
}

function command(name: string): string[] {
  const value = service(name).command;
  return typeof value === 'string' ? value.trim().split(/\s+/) : (value ?? []);
}

/** [published, container] pairs from short ("[ip:]host:container[/proto]") or long port syntax. */
function portMappings(name: string): { published?: number; target: number }[] {
  return (service(name).ports ?? []).map((entry) => {
    if (typeof entry === 'object') {
      return { published: entry.published === undefined ? undefined : Number(entry.published), target: Number(entry.target) };
    }
    const parts = String(entry).replace(/\/(tcp|udp)$/, '').split(':');
    return { published: parts.length > 1 ? Number(parts.at(-2)) : undefined, target: Number(parts.at(-1)) };
  });
}

function containerPorts(name: string): number[] {
  return [...portMappings(name).map((mapping) => mapping.target), ...(service(name).expose ?? []).map(Number)];
}

function dependsOn(name: string): Record<string, string> {
  const value = service(name).depends_on ?? {};
  if (Array.isArray(value)) return Object.fromEntries(value.map((dependency) => [dependency, 'service_started']));
  return Object.fromEntries(Object.entries(value).map(([dependency, spec]) => [dependency, spec.condition ?? 'service_started']));
}

/** host:port must name a service of this stack that listens on that port. */
function expectStackAddress(address: string | undefined, owner: string) {
  const [host, port] = (address ?? '').split(':');
  expect(host, `${owner} TEMPORAL_ADDRESS host`).toBe('temporal');
  expect(Number(port), `${owner} TEMPORAL_ADDRESS port`).toBe(7233);
  expect(containerPorts('temporal'), 'ports the temporal service exposes').toContain(Number(port));
}

/**
 * The variables a loader looks up in the environment it is given. Enumeration is hidden from it:
 * @temporalio/envconfig scans every variable for TEMPORAL_GRPC_META_*, which is not reading them.
 */
function variablesReadBy(loader: (env: Env) => unknown, env: Env): Set<string> {
  const read = new Set<string>();
  const recorder = new Proxy(env, {
    get: (target, name) => {
      if (typeof name === 'string') read.add(name);
      return Reflect.get(target, name);
    },
    ownKeys: () => [],
  });
  loader(recorder);
  return read;
}

/** TEMPORAL_* variables are read by @temporalio/envconfig: a variable it reads changes the result. */
function readByTemporalEnvconfig(variable: string): boolean {
  const baseline = JSON.stringify(temporalConfig.loadTemporalConfig({}));
  try {
    return JSON.stringify(temporalConfig.loadTemporalConfig({ [variable]: 'probe.example:1234' })) !== baseline;
  } catch {
    return true;
  }
}

/** The loaders (load*) an entry point imports from src/config/ and calls. */
function loadersCalledBy(role: Role): string[] {
  const source = read(ENTRY_POINTS[role]);
  const imported = [...source.matchAll(/import\s*\{([^}]*)\}\s*from\s*'[./]+config\/[\w-]+\.js'/g)].map((match) => match[1]).join(',');
  return imported
    .split(',')
    .map((name) => name.trim())
    .filter((name) => /^load\w+$/.test(name) && source.includes(`${name}(`));
}

/** The loaders the process calls at start. */
function loadersOf(role: Role): ((env: Env) => unknown)[] {
  return loadersCalledBy(role).map((name) => {
    const loader = LOADERS[name];
    expect(loader, `${name} exported by a module of src/config/`).toBeTypeOf('function');
    return loader as (env: Env) => unknown;
  });
}

/** Runs every loader the process calls at start, as it would with this environment. */
function loadConfigOf(role: Role, env: Env): void {
  for (const loader of loadersOf(role)) loader(env);
}

/** Every variable the process reads given this environment: its loaders' look-ups plus direct process.env reads. */
function variablesReadByProcess(role: Role, env: Env): Set<string> {
  const direct = [...read(ENTRY_POINTS[role]).matchAll(/process\.env\.([A-Z_]+)/g)].map((match) => match[1]);
  return new Set([...loadersOf(role).flatMap((loader) => [...variablesReadBy(loader, env)]), ...direct]);
}

/** The variables whose absence makes the process's configuration fail with a ConfigError naming them. */
function requiredVariables(role: Role, env: Env): string[] {
  return Object.keys(env).filter((variable) => {
    const { [variable]: _removed, ...rest } = env;
    try {
      loadConfigOf(role, rest);
      return false;
    } catch (error) {
      return error instanceof ConfigError && error.message.includes(variable);
    }
  });
}

/** The image's default CMD, from its exec-form JSON array. */
function dockerfileCmd(dockerfile: string): string[] {
  const lines = [...dockerfile.matchAll(/^CMD\s+(\[.*\])\s*$/gm)];
  expect(lines, 'an exec-form CMD ["npm", "run", ...] in the Dockerfile').not.toHaveLength(0);
  return JSON.parse(lines.at(-1)![1]) as string[];
}

describe('docker-compose.yml', () => {
  it('parses and defines postgresql, temporal, temporal-ui, worker and api', () => {
    expect(Object.keys(loadCompose().services)).toEqual(
      expect.arrayContaining(['postgresql', 'temporal', 'temporal-ui', 'worker', 'api']),
    );
  });

  it('registers the search attribute the API looks Idempotency-Keys up by, before the API starts', () => {
    const setup = service('temporal-setup');
    expect(JSON.stringify(setup.command)).toContain(`--name ${ORDER_IDEMPOTENCY_KEY.name} --type Keyword`);
    expect(service('api').depends_on).toMatchObject({ 'temporal-setup': { condition: 'service_completed_successfully' } });
  });

  it('pins every image to a version tag', () => {
    for (const [name, { image }] of Object.entries(loadCompose().services)) {
      if (image === undefined) continue;
      const tag = /:([^/:@]+)(@sha256:[0-9a-f]+)?$/.exec(image)?.[1];
      expect(tag, `${name} image "${image}" has a tag`).toBeDefined();
      expect(tag, `${name} image "${image}"`).not.toBe('latest');
    }
  });

  it('builds worker and api from the Dockerfile in the project root', () => {
    for (const name of ['worker', 'api']) {
      const { build } = service(name);
      expect(build, `${name} builds an image`).toBeDefined();
      const { context = '.', dockerfile = 'Dockerfile' } = typeof build === 'string' ? { context: build } : (build ?? {});
      expect(resolve(ROOT, context), `${name} build context`).toBe(resolve(ROOT));
      expect(resolve(ROOT, context, dockerfile), `${name} Dockerfile`).toBe(resolve(ROOT, 'Dockerfile'));
    }
    expect(existsSync(resolve(ROOT, 'Dockerfile')), 'Dockerfile in the project root').toBe(true);
  });

  it('runs the package.json scripts worker and api, which the image can run', () => {
    const { scripts = {}, dependencies = {} } = JSON.parse(read('package.json')) as {
      scripts?: Record<string, string>;
      dependencies?: Record<string, string>;
    };
    const dockerfile = read('Dockerfile');
    const defaultCommand = dockerfileCmd(dockerfile);
    expect(defaultCommand.slice(0, 2), 'Dockerfile CMD').toEqual(['npm', 'run']);
    expect(['worker', 'api'], 'Dockerfile CMD runs the worker or the API').toContain(defaultCommand[2]);

    for (const name of ['worker', 'api']) {
      expect(command(name), `${name} command`).toEqual(['npm', 'run', name]);
      const script = scripts[name];
      expect(script, `package.json script "${name}"`).toBeDefined();
      // `tsx src/...ts`: tsx must survive `npm ci --omit=dev`, and the entry point must be copied in.
      const [runner, entryPoint] = script.split(/\s+/);
      expect(dependencies, `"${runner}" (runs the "${name}" script) in dependencies`).toHaveProperty(runner);
      expect(existsSync(resolve(ROOT, entryPoint)), `${entryPoint} exists`).toBe(true);
      expect(entryPoint, `${name} entry point is inside src/, which the image copies`).toMatch(/^src\//);
    }
    expect(dockerfile).toMatch(/^FROM node:20-bookworm-slim\b/m);
    expect(dockerfile).toMatch(/^RUN npm ci --omit=dev\b/m);
    expect(dockerfile).toMatch(/^COPY src \.\/src$/m);
    expect(dockerfile).toMatch(/^COPY tsconfig\.json \.\/$/m);
    expect([...dockerfile.matchAll(/^USER\s+(\S+)/gm)].at(-1)?.[1], 'the user the processes run as').toBe('node');
  });

  it('keeps secrets and local state out of the build context', () => {
    const ignored = read('.dockerignore').split('\n').map((line) => line.trim());
    expect(ignored).toEqual(expect.arrayContaining(['node_modules', '.env', '.git', '.tools', '.data']));
  });

  it('refuses to start without exactly the variables the worker and API require', () => {
    const workerRequired = requiredVariables('worker', containerEnv('worker'));
    const apiRequired = requiredVariables('api', containerEnv('api'));
    expect(workerRequired).toContain('STRIPE_SECRET_KEY');
    expect(apiRequired).toContain('TRIGGER_API_KEYS');

    // With an empty .env, ${VAR:?...} stops Compose, and only for variables config really requires.
    for (const [name, required] of [['worker', workerRequired], ['api', apiRequired]] as const) {
      let error: unknown;
      try {
        containerEnv(name, {});
      } catch (caught) {
        error = caught;
      }
      expect(error, `${name} without a .env`).toBeInstanceOf(MissingVariables);
      expect([...(error as MissingVariables).names].sort(), `${name} variables guarded with :?`).toEqual([...required].sort());
    }
  });

  it('passes configuration the worker and API accept', () => {
    expect(loadersCalledBy('worker')).toEqual(expect.arrayContaining(['loadTemporalConfig', 'loadProviderConfig']));
    expect(loadersCalledBy('api')).toEqual(expect.arrayContaining(['loadTemporalConfig', 'loadApiConfig']));
    expect(() => loadConfigOf('worker', containerEnv('worker'))).not.toThrow();
    expect(() => loadConfigOf('api', containerEnv('api'))).not.toThrow();
  });

  it('sets only variables the worker and API read', () => {
    expect(variablesReadByProcess('worker', containerEnv('worker'))).toContain('STRIPE_SECRET_KEY');
    expect(variablesReadByProcess('api', containerEnv('api'))).toContain('TRIGGER_API_KEYS');

    // Catches typos and stale variables; the API gets no provider secrets, the worker no API keys.
    for (const name of ['worker', 'api'] as const) {
      const known = variablesReadByProcess(name, containerEnv(name));
      const unread = Object.keys(rawEnvironment(name)).filter(
        (variable) => !known.has(variable) && !(variable.startsWith('TEMPORAL_') && readByTemporalEnvconfig(variable)),
      );
      expect(unread, `${name} variables nothing reads`).toEqual([]);
    }
  });

  it('publishes the API on the port it listens on, on all interfaces of the container', () => {
    const api = apiConfig.loadApiConfig(containerEnv('api'));
    expect(api.host).toBe('0.0.0.0');
    expect(portMappings('api')).toContainEqual({ published: api.port, target: api.port });
  });

  it('points the worker, the API and the Web UI at the temporal service', () => {
    expectStackAddress(temporalConfig.loadTemporalConfig(containerEnv('worker')).connection.address, 'worker');
    expectStackAddress(temporalConfig.loadTemporalConfig(containerEnv('api')).connection.address, 'api');
    expectStackAddress(containerEnv('temporal-ui').TEMPORAL_ADDRESS, 'temporal-ui');
  });

  it('starts workflows on the namespace and task queue the worker polls, which Temporal creates', () => {
    const worker = temporalConfig.loadTemporalConfig(containerEnv('worker'));
    const api = temporalConfig.loadTemporalConfig(containerEnv('api'));
    expect(api.namespace).toBe(worker.namespace);
    expect(api.taskQueue).toBe(worker.taskQueue);
    expect(containerEnv('temporal').DEFAULT_NAMESPACE ?? 'default', 'namespace auto-setup registers').toBe(worker.namespace);
  });

  it('stores Temporal state in the postgresql service, on a named volume', () => {
    const temporal = containerEnv('temporal');
    const postgresql = containerEnv('postgresql');
    expect(temporal.DB).toBe('postgres12');
    expect(temporal.POSTGRES_SEEDS, 'Temporal database host').toBe('postgresql');
    expect(temporal.DB_PORT).toBe('5432');
    expect(temporal.POSTGRES_USER).toBe(postgresql.POSTGRES_USER);
    expect(temporal.POSTGRES_PWD).toBe(postgresql.POSTGRES_PASSWORD);

    const dataVolume = (service('postgresql').volumes ?? [])
      .map((volume) => (typeof volume === 'string' ? volume.split(':') : [volume.source, volume.target]))
      .find(([, target]) => target === '/var/lib/postgresql/data')?.[0];
    expect(dataVolume, 'volume mounted at /var/lib/postgresql/data').toBeDefined();
    expect(Object.keys(loadCompose().volumes ?? {}), 'named volumes').toContain(dataVolume);
  });

  it('gives the temporal service the dynamic config file that enables eager activity dispatch', () => {
    const path = containerEnv('temporal').DYNAMIC_CONFIG_FILE_PATH;
    const mounted = (service('temporal').volumes ?? [])
      .map((volume) => (typeof volume === 'string' ? volume.split(':') : [volume.source, volume.target]))
      .find(([, target]) => target === path)?.[0];
    expect(mounted, `a file mounted at DYNAMIC_CONFIG_FILE_PATH (${path})`).toBeDefined();
    const dynamicConfig = parse(read(mounted!)) as Record<string, { value: unknown }[]>;
    expect(dynamicConfig['system.enableActivityEagerExecution']).toEqual([{ value: true }]);
  });

  it('starts each service once what it needs is healthy, and restarts the worker and API', () => {
    const healthcheck = (name: string) => [service(name).healthcheck?.test ?? []].flat().join(' ');
    expect(healthcheck('postgresql')).toContain('pg_isready');
    expect(healthcheck('temporal')).toContain('temporal operator');
    expect(dependsOn('temporal')).toMatchObject({ postgresql: 'service_healthy' });
    expect(dependsOn('worker')).toMatchObject({ temporal: 'service_healthy' });
    expect(dependsOn('api')).toHaveProperty('temporal');
    expect(dependsOn('temporal-ui')).toHaveProperty('temporal');
    for (const name of ['worker', 'api']) expect(service(name).restart, `${name} restart policy`).toBe('unless-stopped');
  });
});
