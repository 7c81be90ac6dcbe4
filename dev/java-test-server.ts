import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { delimiter, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import {
  TestWorkflowEnvironment,
  type EphemeralServerExecutable,
  type TimeSkippingTestWorkflowEnvironmentOptions,
} from '@temporalio/testing';
import { freePort } from './processes.js';
import { isExecutable } from './tools.js';

/**
 * Temporal's time-skipping test server (what `TestWorkflowEnvironment.createTimeSkipping` runs), found
 * or fetched the way dev/tools.ts gets the temporal CLI: an existing binary, else Temporal's Java test
 * server from Maven Central built into the ignored .tools folder, else the SDK's own download (a laptop
 * with internet and no Java). The SDK's download cannot work on a machine that reaches package registries only.
 */
export const TEST_SERVER_ENV_VAR = 'TEMPORAL_TEST_SERVER_PATH';
const TEST_SERVER_NAME = 'temporal-test-server';

const CACHE_DIR = fileURLToPath(new URL('../.tools/java-test-server/', import.meta.url));
const JARS_DIR = join(CACHE_DIR, 'lib');
/** Class data of the server's start-up, which the wrapper loads: the SDK waits only 5 s for the server to listen. */
const START_UP_ARCHIVE = join(CACHE_DIR, 'start-up.jsa');
const POM = fileURLToPath(new URL('./java-test-server/pom.xml', import.meta.url));
/** Runs the server from JARS_DIR with START_UP_ARCHIVE. */
const WRAPPER = fileURLToPath(new URL('./java-test-server/temporal-test-server', import.meta.url));
const DOWNLOAD_DIR = join(CACHE_DIR, 'download');

export interface FoundTestServer {
  executable: EphemeralServerExecutable;
  /** How it was found, said on screen: which route was taken. */
  route: string;
}

export const HOW_TO_GET_THE_TEST_SERVER =
  `Install Java 17+ and Maven and run \`npm run tools\` (it copies io.temporal:temporal-test-server from Maven Central ` +
  `into .tools/java-test-server), or set ${TEST_SERVER_ENV_VAR} to a temporal-test-server executable ` +
  '(https://github.com/temporalio/sdk-java/releases), or give this machine internet access so the Temporal SDK can download it.';

function answers(command: string, args: string[]): boolean {
  return spawnSync(command, args, { stdio: 'ignore' }).status === 0;
}

function jarsCopied(): boolean {
  return existsSync(JARS_DIR) && readdirSync(JARS_DIR).some((name) => name.startsWith('temporal-test-server-'));
}

/** An existing server: the variable, then PATH, then the jars in the project's cache (with Java to run them). */
export function findTestServer(env: NodeJS.ProcessEnv = process.env): FoundTestServer | undefined {
  const fromEnv = env[TEST_SERVER_ENV_VAR];
  if (fromEnv) {
    if (!isExecutable(fromEnv)) throw new Error(`${TEST_SERVER_ENV_VAR}=${fromEnv} is not an executable file`);
    return { executable: { type: 'existing-path', path: fromEnv }, route: `${TEST_SERVER_ENV_VAR} (${fromEnv})` };
  }
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, TEST_SERVER_NAME);
    if (dir && isExecutable(candidate))
      return { executable: { type: 'existing-path', path: candidate }, route: `found on PATH (${candidate})` };
  }
  if (jarsCopied() && answers('java', ['-version'])) {
    return { executable: { type: 'existing-path', path: WRAPPER }, route: `Java test server in the project cache (${JARS_DIR})` };
  }
  return undefined;
}

/** Copies the Java test server's jars from Maven Central into the project cache, then records its start-up. */
async function buildWithMaven(): Promise<FoundTestServer> {
  console.log(`Copying Temporal's Java test server from Maven Central into ${JARS_DIR} (about a minute the first time)...`);
  rmSync(CACHE_DIR, { recursive: true, force: true });
  mkdirSync(CACHE_DIR, { recursive: true });
  execFileSync('mvn', ['-q', '-f', POM, 'dependency:copy-dependencies', '-DincludeScope=runtime', `-DoutputDirectory=${JARS_DIR}`], {
    stdio: 'inherit',
  });
  await recordStartUp();
  return { executable: { type: 'existing-path', path: WRAPPER }, route: `Java test server copied with Maven (${JARS_DIR})` };
}

/**
 * Starts the server once with -XX:ArchiveClassesAtExit, so later starts map its classes from an archive
 * (under a second instead of 2-6 s on two busy cores). Without the archive the wrapper still works, slower.
 */
async function recordStartUp(): Promise<void> {
  const port = await freePort();
  const server = spawn(
    'java',
    [
      `-XX:ArchiveClassesAtExit=${START_UP_ARCHIVE}`,
      '-Xlog:cds=off',
      '-cp',
      join(JARS_DIR, '*'),
      'io.temporal.testserver.TestServer',
      String(port),
    ],
    {
      stdio: 'ignore',
    },
  );
  const exited = new Promise((resolve) => server.once('exit', resolve));
  const deadline = Date.now() + 60_000;
  while (!(await listening(port))) {
    if (server.exitCode !== null || Date.now() > deadline) throw new Error(`The Java test server did not start on port ${port}`);
    await sleep(200);
  }
  server.kill('SIGTERM'); // the archive is written as the JVM exits
  await exited;
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.end();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * The test server to hand to `createTimeSkipping`: an existing one, else the Java test server built with
 * Maven when Java and Maven are present, else the SDK's download (needs internet; whether it works shows
 * when a time-skipping environment starts).
 */
export async function ensureTestServer(): Promise<FoundTestServer> {
  const found = findTestServer();
  if (found) return found;
  if (answers('java', ['-version']) && answers('mvn', ['-v'])) return buildWithMaven();
  return {
    executable: { type: 'cached-download', downloadDir: DOWNLOAD_DIR },
    route: `downloaded by the Temporal SDK into ${DOWNLOAD_DIR} (no ${TEST_SERVER_ENV_VAR}, no Java and Maven)`,
  };
}

/** A JVM that misses the SDK's 5 s may only be starting on a busy machine. */
const START_ATTEMPTS = 3;

/**
 * A time-skipping environment on the given server. A start that misses the SDK's 5 s is tried again
 * (a busy machine); a server that cannot start fails saying how to get one that can.
 */
export async function startTimeSkipping(
  found: FoundTestServer,
  options: Omit<TimeSkippingTestWorkflowEnvironmentOptions, 'server'> = {},
): Promise<TestWorkflowEnvironment> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await TestWorkflowEnvironment.createTimeSkipping({ ...options, server: { executable: found.executable } });
    } catch (error) {
      const message = (error as Error).message;
      if (attempt < START_ATTEMPTS && /did not start within/.test(message)) continue;
      throw new Error(
        `The time-skipping test server (${found.route}) did not start after ${attempt} attempt(s): ${message}. ${HOW_TO_GET_THE_TEST_SERVER}`,
        {
          cause: error,
        },
      );
    }
  }
}
