/**
 * PostgreSQL from the machine's packages (Debian's `postgresql`), for the production topology of
 * `npm run cluster`: a private data folder, loopback only, run as a child process of the cluster. As
 * root it runs as the `postgres` user, since PostgreSQL refuses to run as root.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isExecutable } from './tools.js';
import { spawnProcess, type StartedProcess } from './processes.js';

/** The variable that may point at PostgreSQL's bin folder (initdb, postgres, pg_isready, psql). */
const BIN_DIR_VARIABLE = 'POSTGRES_BIN_DIR';
const DEBIAN_ROOT = '/usr/lib/postgresql';
const PROGRAMS = ['initdb', 'postgres', 'pg_isready', 'psql'] as const;
const HOW_TO_GET =
  'Install PostgreSQL 12 or newer: on Debian or Ubuntu `sudo apt-get install -y postgresql` (its programs land in ' +
  `${DEBIAN_ROOT}/<version>/bin); elsewhere set ${BIN_DIR_VARIABLE} to the folder holding initdb, postgres, pg_isready and psql.`;

export interface PostgresUser {
  /** The account the server runs as (`postgres` when this process is root). */
  name: string;
  uid?: number;
  gid?: number;
}

export interface PostgresBinaries {
  binDir: string;
  /** How it was found, said on screen. */
  route: string;
  user: PostgresUser;
}

function hasPrograms(dir: string): boolean {
  return PROGRAMS.every((program) => isExecutable(join(dir, program)));
}

/** Root cannot run PostgreSQL: the Debian package's `postgres` account does. */
function serverUser(): PostgresUser {
  if (process.getuid?.() !== 0) return { name: process.env.USER ?? 'the current user' };
  const ids = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  try {
    return { name: 'postgres', uid: ids('-u'), gid: ids('-g') };
  } catch {
    throw new Error(`PostgreSQL cannot run as root, and there is no "postgres" user to run it as. ${HOW_TO_GET}`);
  }
}

/** PostgreSQL's programs: POSTGRES_BIN_DIR, then `pg_config --bindir` on PATH, then Debian's newest version. */
export function findPostgres(): PostgresBinaries {
  const fromEnv = process.env[BIN_DIR_VARIABLE];
  if (fromEnv) {
    if (!hasPrograms(fromEnv)) throw new Error(`${BIN_DIR_VARIABLE}=${fromEnv} lacks ${PROGRAMS.join(', ')}. ${HOW_TO_GET}`);
    return { binDir: fromEnv, route: `${BIN_DIR_VARIABLE} (${fromEnv})`, user: serverUser() };
  }
  const pgConfig = spawnSync('pg_config', ['--bindir'], { encoding: 'utf8' });
  const fromPgConfig = pgConfig.status === 0 ? pgConfig.stdout.trim() : undefined;
  if (fromPgConfig && hasPrograms(fromPgConfig)) return { binDir: fromPgConfig, route: `pg_config (${fromPgConfig})`, user: serverUser() };
  const versions = existsSync(DEBIAN_ROOT)
    ? readdirSync(DEBIAN_ROOT)
        .filter((version) => /^\d+$/.test(version) && Number(version) >= 12)
        .sort((a, b) => Number(b) - Number(a))
    : [];
  const debian = versions.map((version) => join(DEBIAN_ROOT, version, 'bin')).find(hasPrograms);
  if (debian) return { binDir: debian, route: `Debian package (${debian})`, user: serverUser() };
  throw new Error(`PostgreSQL was not found. ${HOW_TO_GET}`);
}

export interface PostgresOptions {
  dataDir: string;
  port: number;
  /** The superuser Temporal connects as, and its password. */
  user: string;
  password: string;
}

function runAs(user: PostgresUser): { uid?: number; gid?: number } {
  return { ...(user.uid !== undefined && { uid: user.uid }), ...(user.gid !== undefined && { gid: user.gid }) };
}

/**
 * Creates the database cluster in `dataDir` on first use (a folder with PG_VERSION is kept as it is):
 * a superuser with a password, which loopback TCP connections must give.
 */
export function initPostgres(postgres: PostgresBinaries, { dataDir, user, password }: PostgresOptions): boolean {
  if (existsSync(join(dataDir, 'PG_VERSION'))) return false;
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const owner = runAs(postgres.user);
  if (owner.uid !== undefined) chownSync(dataDir, owner.uid, owner.gid ?? -1);
  const passwordFile = join(tmpdir(), `order-processing-pg-${process.pid}`);
  writeFileSync(passwordFile, `${password}\n`, { mode: 0o644 });
  try {
    execFileSync(
      join(postgres.binDir, 'initdb'),
      ['-D', dataDir, '-U', user, `--pwfile=${passwordFile}`, '--auth-host=scram-sha-256', '--auth-local=peer', '-E', 'UTF8'],
      { ...owner, stdio: 'pipe' },
    );
  } catch (error) {
    const output = (error as { stderr?: Buffer }).stderr?.toString() ?? '';
    throw new Error(`initdb of ${dataDir} as ${postgres.user.name} failed: ${output || (error as Error).message}`, { cause: error });
  } finally {
    rmSync(passwordFile, { force: true });
  }
  return true;
}

/**
 * Starts the server in the foreground, as a child: on 127.0.0.1 only, no Unix socket. Stopping it
 * with SIGINT is PostgreSQL's fast shutdown (open sessions are ended, nothing is lost); SIGTERM would
 * wait for Temporal's pooled connections to close, which they never do.
 */
export function spawnPostgres(postgres: PostgresBinaries, { dataDir, port }: PostgresOptions): StartedProcess {
  const args = ['-D', dataDir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='];
  return spawnProcess('postgresql', join(postgres.binDir, 'postgres'), args, { ...runAs(postgres.user), detached: true });
}

/** One value from a query, through psql over loopback TCP as the cluster's superuser. */
export function queryValue(postgres: PostgresBinaries, { port, user, password }: PostgresOptions, sql: string): string {
  return execFileSync(join(postgres.binDir, 'psql'), ['-h', '127.0.0.1', '-p', String(port), '-U', user, '-d', 'postgres', '-Atqc', sql], {
    encoding: 'utf8',
    env: { ...process.env, PGPASSWORD: password },
  }).trim();
}

/** Whether the server accepts connections (pg_isready: not while starting, recovering or shutting down). */
export function acceptsConnections(postgres: PostgresBinaries, port: number): boolean {
  return spawnSync(join(postgres.binDir, 'pg_isready'), ['-h', '127.0.0.1', '-p', String(port), '-q'], { stdio: 'ignore' }).status === 0;
}
