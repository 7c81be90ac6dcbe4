import { ConfigError } from './env.js';

/** Runs a process entry point: a configuration error is printed as one clear line and exits 1. */
export function runMain(main: () => Promise<void>): void {
  main().catch((error: unknown) => {
    console.error(error instanceof ConfigError ? error.message : error);
    process.exit(1);
  });
}
