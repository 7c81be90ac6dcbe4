import { execFileSync, spawnSync } from 'node:child_process';
import { accessSync, constants, mkdirSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The project's ignored cache of binaries built with Go (reused by later runs and CI on the same machine). */
const TOOLS_BIN = fileURLToPath(new URL('../.tools/bin/', import.meta.url));

export interface ToolSpec {
  /** The executable's name. */
  name: string;
  /** The variable that may point at an existing binary. */
  envVar: string;
  /** The `go install` target, pinned. */
  goPackage: string;
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
  execFileSync('go', ['install', tool.goPackage], {
    stdio: 'inherit',
    env: { ...process.env, GOBIN: TOOLS_BIN, CGO_ENABLED: '0' },
  });
  const path = join(TOOLS_BIN, tool.name);
  return { path, route: `built with Go from ${tool.goPackage} (${path})` };
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
