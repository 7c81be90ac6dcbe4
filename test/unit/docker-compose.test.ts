import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, posix, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { ORDER_SEARCH_ATTRIBUTES } from '../../src/domain/search-attributes.js';
import {
  DEFAULT_CLUSTER_PORTS,
  NAMESPACE_RETENTION_HOURS,
  SERVER_ARGS,
  SERVER_CONFIG_ENV,
  SERVER_CONFIG_FILE,
  SERVER_PORT_VARIABLES,
  TEMPORAL_DATABASES,
  temporalServerVariables,
} from '../../dev/cluster.js';
import { DYNAMIC_CONFIG_FILE, devServerDynamicConfigArgs, dynamicConfigValues } from '../../dev/dynamic-config.js';
import { describe, it, expect } from 'vitest';
import { parse } from 'yaml';
import * as apiConfig from '../../src/config/api.js';
import * as codecConfig from '../../src/config/codec.js';
import { ConfigError } from '../../src/config/env.js';
import * as processConfig from '../../src/config/process.js';
import * as temporalConfig from '../../src/config/temporal.js';
import * as tracingConfig from '../../src/config/tracing.js';
import * as workerConfig from '../../src/config/worker-settings.js';

// Checks docker-compose.yml and the Dockerfile against the code they run: the config loaders each
// entry point calls decide which variables are required and whether the stack's values are accepted.

/** The loaders (load*) of the configuration modules the worker and the API may import. */
const LOADERS: Record<string, unknown> = {
  ...apiConfig,
  ...codecConfig,
  ...processConfig,
  ...temporalConfig,
  ...tracingConfig,
  ...workerConfig,
};

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
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
  const env = Object.fromEntries(Object.entries(rawEnvironment(name)).map(([key, value]) => [key, interpolate(value, hostEnv, missing)]));
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
    const parts = String(entry)
      .replace(/\/(tcp|udp)$/, '')
      .split(':');
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

/** outDir and rootDir of `npm run build` (tsconfig.build.json, with what it extends), as absolute paths. */
function buildOutput(): { outDir: string; rootDir: string; fileNames: string[] } {
  const parsed = ts.getParsedCommandLineOfConfigFile(
    resolve(ROOT, 'tsconfig.build.json'),
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
        throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'));
      },
    },
  );
  const { outDir, rootDir } = parsed?.options ?? {};
  expect(outDir, 'outDir of tsconfig.build.json').toBeDefined();
  expect(rootDir, 'rootDir of tsconfig.build.json').toBeDefined();
  return { outDir: outDir!, rootDir: rootDir!, fileNames: parsed!.fileNames };
}

/** Where `npm run build` puts an entry point's compiled form, relative to the project root (e.g. dist/worker.js). */
function compiledEntryPoint(role: Role): string {
  const { outDir, rootDir, fileNames } = buildOutput();
  const source = resolve(ROOT, ENTRY_POINTS[role]);
  expect(fileNames, `tsconfig.build.json compiles ${ENTRY_POINTS[role]}`).toContain(source);
  return relative(ROOT, join(outDir, relative(rootDir, source))).replace(/\.ts$/, '.js');
}

interface DockerStage {
  image: string;
  name?: string;
  instructions: { keyword: string; args: string }[];
}

/** The Dockerfile's stages and their instructions (comments dropped, continuation lines joined). */
function dockerfileStages(): DockerStage[] {
  const stages: DockerStage[] = [];
  for (const line of read('Dockerfile').replace(/\\\n/g, ' ').split('\n')) {
    const match = /^\s*([A-Za-z]+)\s+(.*\S)\s*$/.exec(line);
    if (!match || line.trimStart().startsWith('#')) continue;
    const keyword = match[1].toUpperCase();
    const args = match[2];
    if (keyword === 'FROM') {
      const [, image, name] = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args) ?? [];
      stages.push({ image, name, instructions: [] });
    } else {
      expect(stages, `${keyword} before the first FROM`).not.toHaveLength(0);
      stages.at(-1)!.instructions.push({ keyword, args });
    }
  }
  return stages;
}

const instructionArgs = (stage: DockerStage, keyword: string) =>
  stage.instructions.filter((instruction) => instruction.keyword === keyword).map((instruction) => instruction.args);

/** A stage's WORKDIR at its end (the image default "/" without one). */
const workdir = (stage: DockerStage) => instructionArgs(stage, 'WORKDIR').at(-1) ?? '/';

/** A stage's COPY instructions: the stage copied from (if any) and the sources, resolved against that stage's WORKDIR. */
function copies(stage: DockerStage, stages: DockerStage[]): { from?: string; sources: string[] }[] {
  return instructionArgs(stage, 'COPY').map((args) => {
    const words = args.split(/\s+/);
    const from = words.find((word) => word.startsWith('--from='))?.slice('--from='.length);
    const paths = words.filter((word) => !word.startsWith('--')).slice(0, -1);
    const origin = from === undefined ? undefined : stages.find((candidate) => candidate.name === from);
    if (from !== undefined) expect(origin, `COPY --from=${from} names a stage of the Dockerfile`).toBeDefined();
    return { from, sources: paths.map((path) => (origin ? posix.resolve(workdir(origin), path) : posix.normalize(path))) };
  });
}

/** The stage that runs a command (a RUN line matching `pattern`). */
function stageRunning(stages: DockerStage[], pattern: RegExp, description: string): DockerStage {
  const found = stages.filter((stage) => instructionArgs(stage, 'RUN').some((run) => pattern.test(run)));
  expect(found, `one stage that runs ${description}`).toHaveLength(1);
  return found[0];
}

/** The npm packages (not Node built-ins, not relative paths) that src/ loads at run time; `import type` is erased. */
function packagesImportedBySrc(): Set<string> {
  const specifiers = readdirSync(resolve(ROOT, 'src'), { recursive: true, encoding: 'utf8' })
    .filter((file) => /\.(ts|cjs|js|mjs)$/.test(file))
    .flatMap((file) => {
      const source = read(join('src', file));
      return [
        ...source.matchAll(/^\s*(?:import|export)\s+(?!type\b)[^'";]*?from\s+'([^']+)'/gm),
        ...source.matchAll(/^\s*import\s+'([^']+)'/gm),
        ...source.matchAll(/\b(?:require|import)\(\s*'([^']+)'\s*\)/g),
      ].map((match) => match[1]);
    });
  return new Set(
    specifiers
      .filter((specifier) => !specifier.startsWith('.') && !specifier.startsWith('node:'))
      .map((specifier) =>
        specifier
          .split('/')
          .slice(0, specifier.startsWith('@') ? 2 : 1)
          .join('/'),
      )
      .filter((name) => !builtinModules.includes(name)),
  );
}

describe('docker-compose.yml', () => {
  it('parses and defines postgresql, temporal-schema, temporal, temporal-setup, temporal-ui, worker and api', () => {
    expect(Object.keys(loadCompose().services)).toEqual(
      expect.arrayContaining(['postgresql', 'temporal-schema', 'temporal', 'temporal-setup', 'temporal-ui', 'worker', 'api']),
    );
  });

  it('registers every search attribute the service writes (OrderOutcome, OrderIdempotencyKey), before the API starts', () => {
    const setup = service('temporal-setup');
    for (const { key } of ORDER_SEARCH_ATTRIBUTES) expect(JSON.stringify(setup.command)).toContain(`--name ${key.name} --type Keyword`);
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

  it('runs the compiled worker and API with plain node, as the image does', () => {
    for (const role of ['worker', 'api'] as const) {
      expect(command(role), `${role} command`).toEqual(['node', compiledEntryPoint(role)]);
    }
  });

  it('keeps secrets and local state out of the build context', () => {
    const ignored = read('.dockerignore')
      .split('\n')
      .map((line) => line.trim());
    expect(ignored).toEqual(expect.arrayContaining(['node_modules', '.env', '.git', '.tools', '.data']));
  });

  it('refuses to start without exactly the variables the worker and API require', () => {
    const workerRequired = requiredVariables('worker', containerEnv('worker'));
    const apiRequired = requiredVariables('api', containerEnv('api'));
    expect(workerRequired).toContain('STRIPE_SECRET_KEY');
    expect(apiRequired).toContain('TRIGGER_API_KEYS');

    // With an empty .env, ${VAR:?...} stops Compose, and only for variables config really requires.
    for (const [name, required] of [
      ['worker', workerRequired],
      ['api', apiRequired],
    ] as const) {
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
    expect(containerEnv('temporal-setup').TEMPORAL_NAMESPACE, 'namespace temporal-setup registers').toBe(worker.namespace);
    expect(command('temporal-setup').join(' ')).toContain(`--retention ${NAMESPACE_RETENTION_HOURS}h`);
  });

  it('stores Temporal state in the postgresql service, on a named volume', () => {
    const temporal = containerEnv('temporal');
    const schema = containerEnv('temporal-schema');
    const postgresql = containerEnv('postgresql');
    expect(temporal.POSTGRES_SEEDS, 'Temporal database host').toBe('postgresql');
    expect(temporal.DB_PORT).toBe('5432');
    expect(temporal.POSTGRES_USER).toBe(postgresql.POSTGRES_USER);
    expect(temporal.POSTGRES_PWD).toBe(postgresql.POSTGRES_PASSWORD);
    expect(schema).toMatchObject({ SQL_PLUGIN: 'postgres12', SQL_HOST: 'postgresql', SQL_PORT: '5432' });
    expect([schema.SQL_USER, schema.SQL_PASSWORD]).toEqual([postgresql.POSTGRES_USER, postgresql.POSTGRES_PASSWORD]);

    const dataVolume = (service('postgresql').volumes ?? [])
      .map((volume) => (typeof volume === 'string' ? volume.split(':') : [volume.source, volume.target]))
      .find(([, target]) => target === '/var/lib/postgresql/data')?.[0];
    expect(dataVolume, 'volume mounted at /var/lib/postgresql/data').toBeDefined();
    expect(Object.keys(loadCompose().volumes ?? {}), 'named volumes').toContain(dataVolume);
  });

  it('runs the Temporal server on the configuration files `npm run cluster` uses, with its command line', () => {
    const mounts = new Map(
      (service('temporal').volumes ?? []).map((volume) => {
        const [source, target] = typeof volume === 'string' ? volume.split(':') : [volume.source, volume.target];
        return [resolve(ROOT, source ?? ''), target ?? ''];
      }),
    );
    const serverConfig = mounts.get(resolve(ROOT, SERVER_CONFIG_FILE));
    const dynamicConfig = mounts.get(resolve(ROOT, DYNAMIC_CONFIG_FILE));
    expect(serverConfig, `${SERVER_CONFIG_FILE} mounted`).toBeDefined();
    expect(dynamicConfig, `${DYNAMIC_CONFIG_FILE} mounted`).toBeDefined();
    // Both in one folder, as they are in the project root the native cluster gives as its config folder.
    expect(posix.dirname(dynamicConfig!)).toBe(posix.dirname(serverConfig!));
    expect(containerEnv('temporal').DYNAMIC_CONFIG_FILE_PATH).toBe(dynamicConfig);

    const script = command('temporal').join(' ');
    const serverArgs = /\bexec temporal-server (.*)$/.exec(script)?.[1].split(/\s+/);
    const root = serverArgs?.[serverArgs.indexOf('--root') + 1] ?? '';
    const configDir = posix.relative(root, posix.dirname(serverConfig!));
    expect(serverArgs, 'the temporal service execs temporal-server').toBeDefined();
    expect(serverArgs).toEqual(SERVER_ARGS(root, configDir));
    expect(posix.basename(serverConfig!)).toBe(`${SERVER_CONFIG_ENV}.yaml`);
  });

  it('sets only variables temporal-server.yaml reads, as the native cluster does', () => {
    const templateVariables = new Set([...read(SERVER_CONFIG_FILE).matchAll(/\benv "(\w+)"/g)].map((match) => match[1]));
    const composeSets = [
      ...Object.keys(rawEnvironment('temporal')),
      ...(/\b([A-Z_]+)=/.exec(command('temporal').join(' ')) ?? []).slice(1),
    ];
    expect(composeSets).toContain('TEMPORAL_BROADCAST_ADDRESS');
    expect(
      composeSets.filter((variable) => !templateVariables.has(variable)),
      'compose variables the server config ignores',
    ).toEqual([]);
    const clusterSets = Object.keys(temporalServerVariables(DEFAULT_CLUSTER_PORTS));
    expect(
      clusterSets.filter((variable) => !templateVariables.has(variable)),
      'cluster variables the server config ignores',
    ).toEqual([]);
    // What the cluster sets and compose leaves to the file's defaults: log level and ports only.
    expect(clusterSets.filter((variable) => !composeSets.includes(variable)).sort()).toEqual(
      ['LOG_LEVEL', ...SERVER_PORT_VARIABLES].sort(),
    );
  });

  it('sets up both databases with the schemas `npm run cluster` sets up, before the server starts', () => {
    const script = command('temporal-schema').join(' ');
    for (const { database, schemaName } of TEMPORAL_DATABASES) expect(script).toContain(`${database}:${schemaName}`);
    for (const step of ['create-database', 'setup-schema -v 0.0', 'update-schema --schema-name']) expect(script).toContain(step);
    expect(dependsOn('temporal')).toMatchObject({ 'temporal-schema': 'service_completed_successfully' });
    expect(dependsOn('temporal-schema')).toMatchObject({ postgresql: 'service_healthy' });
  });

  it('gives the temporal service the dynamic config file: eager activity dispatch, dispatch pacing raised from 20', () => {
    const dynamicConfig = dynamicConfigValues(read(DYNAMIC_CONFIG_FILE));
    expect(dynamicConfig.get('system.enableActivityEagerExecution')).toBe(true);
    expect(dynamicConfig.get('history.transferProcessorMaxPollRPS')).toBeGreaterThan(20);
  });

  it("gives the dev server (npm start, tests, benchmark) the same file's settings as flags", () => {
    const args = devServerDynamicConfigArgs();
    for (const [key, value] of dynamicConfigValues(read(DYNAMIC_CONFIG_FILE))) expect(args).toContain(`${key}=${JSON.stringify(value)}`);
    expect(args.filter((arg) => arg === '--dynamic-config-value')).toHaveLength(args.length / 2);
  });

  it('refuses a dynamic config setting the dev server cannot take: constraints, or several values', () => {
    expect(() => dynamicConfigValues('a.b:\n  - value: 1\n    constraints: { namespace: default }\n')).toThrow(
      /a\.b must hold exactly one/,
    );
    expect(() => dynamicConfigValues('a.b:\n  - value: 1\n  - value: 2\n')).toThrow(/a\.b must hold exactly one/);
    expect(() => dynamicConfigValues('- value: 1\n')).toThrow(/expected a map/);
    expect(devServerDynamicConfigArgs('a.b:\n  - value: 5\nc.d:\n  - value: "x"\n')).toEqual([
      '--dynamic-config-value',
      'a.b=5',
      '--dynamic-config-value',
      'c.d="x"',
    ]);
  });

  it('starts each service once what it needs is healthy, and restarts the worker and API', () => {
    const healthcheck = (name: string) => [service(name).healthcheck?.test ?? []].flat().join(' ');
    expect(healthcheck('postgresql')).toContain('pg_isready');
    expect(healthcheck('temporal')).toContain('temporal operator');
    expect(dependsOn('temporal-setup')).toMatchObject({ temporal: 'service_healthy' });
    expect(dependsOn('worker')).toMatchObject({ 'temporal-setup': 'service_completed_successfully' });
    expect(dependsOn('api')).toHaveProperty('temporal');
    expect(dependsOn('temporal-ui')).toHaveProperty('temporal');
    for (const name of ['worker', 'api']) expect(service(name).restart, `${name} restart policy`).toBe('unless-stopped');
  });
});

describe('Dockerfile', () => {
  const packageJson = () =>
    JSON.parse(read('package.json')) as {
      scripts: Record<string, string>;
      dependencies: Record<string, string>;
      devDependencies: Record<string, string>;
    };

  it('is a multi-stage build on one Node base image; the runtime stage runs as the unprivileged node user', () => {
    const stages = dockerfileStages();
    expect(stages.length, 'stages').toBeGreaterThanOrEqual(2);
    // One base for every stage: the native modules npm ci installs (Temporal core bridge) match the runtime's.
    for (const stage of stages) expect(stage.image, `base image of stage ${stage.name ?? '(runtime)'}`).toBe('node:24-bookworm-slim');
    expect(instructionArgs(stages.at(-1)!, 'USER').at(-1), 'the user the processes run as').toBe('node');
  });

  it('runs the compiled worker with plain node by default: no npm, tsx or shell between SIGTERM and the process', () => {
    const runtime = dockerfileStages().at(-1)!;
    expect(instructionArgs(runtime, 'ENTRYPOINT'), 'ENTRYPOINT of the runtime stage').toEqual([]);
    const cmd = instructionArgs(runtime, 'CMD').at(-1);
    expect(cmd, 'an exec-form CMD ["node", ...]').toMatch(/^\[.*\]$/);
    expect(JSON.parse(cmd!)).toEqual(['node', compiledEntryPoint('worker')]);
  });

  it('compiles in a build stage: all dependencies, the files `npm run build` reads, then `npm run build`', () => {
    const stages = dockerfileStages();
    const build = stageRunning(stages, /^npm run build$/, '`npm run build`');
    const runs = instructionArgs(build, 'RUN');
    const install = runs.findIndex((run) => /^npm ci\b/.test(run));
    expect(install, '`npm ci` before `npm run build`').toBeGreaterThanOrEqual(0);
    expect(install).toBeLessThan(runs.indexOf('npm run build'));
    expect(runs[install], 'the build stage installs the dev dependencies (TypeScript, tsx)').not.toMatch(/--omit[= ]dev|--production/);

    const buildScript = packageJson()
      .scripts.build.split(/\s+/)
      .find((word) => word.endsWith('.ts'));
    expect(buildScript, 'the script `npm run build` runs').toBeDefined();
    const copied = copies(build, stages).flatMap((copy) => copy.sources);
    const needed = ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'src', buildScript!];
    for (const file of needed) {
      expect(existsSync(resolve(ROOT, file)), `${file} exists`).toBe(true);
      expect(copied, `the build stage copies ${file}`).toContain(file);
    }
  });

  it('gives the runtime stage production dependencies, package.json and dist/ only', () => {
    const stages = dockerfileStages();
    const runtime = stages.at(-1)!;
    const build = stageRunning(stages, /^npm run build$/, '`npm run build`');
    const dependencies = stageRunning(stages, /^npm ci --omit=dev\b/, '`npm ci --omit=dev`');
    expect(
      instructionArgs(runtime, 'RUN').filter((run) => /\bnpm\b/.test(run)),
      'npm commands in the runtime stage',
    ).toEqual([]);
    expect(instructionArgs(dependencies, 'RUN').filter((run) => /\bnpm (ci|install|i)\b/.test(run))).toHaveLength(1);

    const outDir = relative(ROOT, buildOutput().outDir);
    // package.json says "type": "module", which makes dist/*.js ES modules.
    expect(copies(runtime, stages)).toEqual(
      expect.arrayContaining([
        { from: undefined, sources: ['package.json'] },
        { from: dependencies.name, sources: [posix.resolve(workdir(dependencies), 'node_modules')] },
        { from: build.name, sources: [posix.resolve(workdir(build), outDir)] },
      ]),
    );
    expect(copies(runtime, stages), 'no sources, tsconfig or build stage node_modules in the runtime stage').toHaveLength(3);
    expect(workdir(runtime), 'the runtime stage runs from the folder holding dist/ and node_modules').toBe(workdir(build));
  });

  it('needs no dev dependency at run time: src/ loads only production dependencies, and the dev tooling is not one', () => {
    const { dependencies, devDependencies } = packageJson();
    for (const tool of ['tsx', '@temporalio/testing', 'vitest', 'typescript']) {
      expect(dependencies, `${tool} in dependencies`).not.toHaveProperty(tool);
      expect(devDependencies, `${tool} in devDependencies`).toHaveProperty(tool);
    }
    const imported = [...packagesImportedBySrc()];
    expect(imported, 'packages src/ loads').toEqual(expect.arrayContaining(['@temporalio/worker', 'fastify', 'stripe']));
    expect(
      imported.filter((name) => !(name in dependencies)),
      'packages src/ loads that `npm ci --omit=dev` leaves out',
    ).toEqual([]);
  });
});
