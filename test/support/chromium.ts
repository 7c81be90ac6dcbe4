/**
 * Headless Chromium for the browser tests, driven over the DevTools protocol by puppeteer-core: the
 * system's browser, never a downloaded one (docs/testing.md).
 */
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import puppeteer, { type Browser } from 'puppeteer-core';

const HOW_TO_GET_IT =
  "install Debian's Chromium (apt-get install chromium; .ci/run does it) or set CHROMIUM_PATH to a Chromium or Chrome binary. " +
  'Nothing downloads a browser.';

function isExecutableFile(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** CHROMIUM_PATH, else `chromium` or `chromium-browser` on PATH; throws saying how to get one. */
export function findChromium(): string {
  const fromEnv = process.env.CHROMIUM_PATH;
  if (fromEnv) {
    if (isExecutableFile(fromEnv)) return fromEnv;
    throw new Error(`CHROMIUM_PATH=${fromEnv} is not an executable file: ${HOW_TO_GET_IT}`);
  }
  const dirs = (process.env.PATH ?? '').split(delimiter).filter(Boolean);
  for (const name of ['chromium', 'chromium-browser']) {
    for (const dir of dirs) if (isExecutableFile(join(dir, name))) return join(dir, name);
  }
  throw new Error(`No Chromium for the browser test (CHROMIUM_PATH unset, no chromium or chromium-browser on PATH): ${HOW_TO_GET_IT}`);
}

/** Headless Chromium; without its sandbox when running as root, where Chromium refuses to start with it. */
export function launchChromium(): Promise<Browser> {
  return puppeteer.launch({
    executablePath: findChromium(),
    headless: true,
    args: [...(process.getuid?.() === 0 ? ['--no-sandbox'] : []), '--disable-dev-shm-usage'],
  });
}
