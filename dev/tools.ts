import { execFileSync, spawnSync } from 'node:child_process';
import { accessSync, constants, copyFileSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { basename, delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The project's ignored cache of binaries built with Go (reused by later runs and CI on the same machine). */
const TOOLS_BIN = fileURLToPath(new URL('../.tools/bin/', import.meta.url));

export interface ToolSpec {
  /** The executable's name. */
  name: string;
  /** The variable that may point at an existing binary. */
  envVar: string;
  /** The `go install` target, pinned. The binary it builds is renamed to `name` (`cmd/server` builds `server`). */
  goPackage: string;
  /** Files of its Go module it needs at run time, kept in `.tools/<name>/` (see ensureModuleFiles). */
  moduleFiles?: string[];
}

export const TEMPORAL_CLI: ToolSpec = {
  name: 'temporal',
  envVar: 'TEMPORAL_CLI_PATH',
  // Later tags carry a replace directive that `go install` refuses.
  goPackage: 'github.com/temporalio/cli/cmd/temporal@v1.5.1',
};

export const STRIPE_MOCK: ToolSpec = {
  name: 'stripe-mock',
  envVar: 'STRIPE_MOCK_PATH',
  goPackage: 'github.com/stripe/stripe-mock@v0.203.0',
};

/** The Temporal server of the production topology (`npm run cluster`), the binary Temporal's images call temporal-server. */
export const TEMPORAL_SERVER: ToolSpec = {
  name: 'temporal-server',
  envVar: 'TEMPORAL_SERVER_PATH',
  goPackage: 'go.temporal.io/server/cmd/server@v1.29.1',
};

/** Its schema tool; the PostgreSQL schemas are embedded in it (`--schema-name postgresql/v12/...`). */
export const TEMPORAL_SQL_TOOL: ToolSpec = {
  name: 'temporal-sql-tool',
  envVar: 'TEMPORAL_SQL_TOOL_PATH',
  goPackage: 'go.temporal.io/server/cmd/tools/sql@v1.29.1',
};

/**
 * The Temporal Web UI server, the version of docker-compose.yml's temporalio/ui image, with the
 * configuration template that image renders from the same variables (TEMPORAL_ADDRESS, TEMPORAL_UI_PORT,
 * TEMPORAL_CORS_ORIGINS, TEMPORAL_CODEC_ENDPOINT).
 */
export const TEMPORAL_UI_SERVER: ToolSpec = {
  name: 'temporal-ui-server',
  envVar: 'TEMPORAL_UI_SERVER_PATH',
  goPackage: 'github.com/temporalio/ui-server/v2/cmd/server@v2.42.1',
  moduleFiles: ['config/docker.yaml'],
};

export interface FoundTool {
  path: string;
  /** How it was found, said on screen: which route was taken. */
  route: string;
}

export function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** An existing binary: the tool's variable, then PATH, then the project's cache. */
export function findTool(tool: ToolSpec): FoundTool | undefined {
  const fromEnv = process.env[tool.envVar];
  if (fromEnv) {
    if (!isExecutable(fromEnv)) throw new Error(`${tool.envVar}=${fromEnv} is not an executable file`);
    return { path: fromEnv, route: `${tool.envVar} (${fromEnv})` };
  }
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, tool.name);
    if (dir && isExecutable(candidate)) return { path: candidate, route: `found on PATH (${candidate})` };
  }
  const cached = join(TOOLS_BIN, tool.name);
  if (isExecutable(cached)) return { path: cached, route: `project cache (${cached})` };
  return undefined;
}

export function hasGo(): boolean {
  return spawnSync('go', ['version'], { stdio: 'ignore' }).status === 0;
}

/** Builds the tool from the Go module proxy into the project cache. Minutes on the first build. */
export function buildWithGo(tool: ToolSpec): FoundTool {
  mkdirSync(TOOLS_BIN, { recursive: true });
  console.log(`Building ${tool.name} with Go (go install ${tool.goPackage}); the first build takes several minutes...`);
  // A folder of its own: several tools build a binary called `server`.
  const gobin = mkdtempSync(join(TOOLS_BIN, `.${tool.name}-`));
  try {
    execFileSync('go', ['install', tool.goPackage], {
      stdio: 'inherit',
      env: { ...process.env, GOBIN: gobin, CGO_ENABLED: '0' },
    });
    const path = join(TOOLS_BIN, tool.name);
    renameSync(join(gobin, basename(tool.goPackage.split('@')[0])), path);
    return { path, route: `built with Go from ${tool.goPackage} (${path})` };
  } finally {
    rmSync(gobin, { recursive: true, force: true });
  }
}

/** An existing binary, else one built with Go; else an error saying how to get it. */
export function ensureTool(tool: ToolSpec): FoundTool {
  const found = findTool(tool);
  if (found) return found;
  if (hasGo()) return buildWithGo(tool);
  throw new Error(
    `${tool.name} is not installed. Set ${tool.envVar} to its path, put it on PATH, or install Go ` +
      `(https://go.dev/dl/) so that it can be built with: go install ${tool.goPackage}`,
  );
}

/** The module path and version of a tool's package (`github.com/x/y/v2@v2.1.0` for `github.com/x/y/v2/cmd/server@v2.1.0`). */
function goModule(tool: ToolSpec): string {
  const [packagePath, version] = tool.goPackage.split('@');
  const cmd = packagePath.indexOf('/cmd/');
  return `${cmd === -1 ? packagePath : packagePath.slice(0, cmd)}@${version}`;
}

/**
 * The folder holding the tool's `moduleFiles`, copied once from its Go module (downloaded by `go mod
 * download`, from the module cache when the tool was built here) into `.tools/<name>/`.
 */
export function ensureModuleFiles(tool: ToolSpec): string {
  const root = join(TOOLS_BIN, '..', tool.name);
  const files = tool.moduleFiles ?? [];
  if (files.every((file) => existsSync(join(root, file)))) return root;
  if (!hasGo()) {
    throw new Error(
      `${tool.name} needs ${files.join(', ')} from the Go module ${goModule(tool)}: install Go (https://go.dev/dl/) to fetch them.`,
    );
  }
  const { Dir } = JSON.parse(execFileSync('go', ['mod', 'download', '-json', goModule(tool)], { encoding: 'utf8' })) as { Dir: string };
  for (const file of files) {
    mkdirSync(dirname(join(root, file)), { recursive: true });
    copyFileSync(join(Dir, file), join(root, file));
  }
  return root;
}
