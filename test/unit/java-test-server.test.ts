import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findTestServer, TEST_SERVER_ENV_VAR } from '../../dev/java-test-server.js';

const dir = mkdtempSync(join(tmpdir(), 'test-server-finder-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('finding the time-skipping test server', () => {
  it(`${TEST_SERVER_ENV_VAR} wins, and one that names no executable stops the run saying so`, () => {
    const binary = join(dir, 'my-test-server');
    writeFileSync(binary, '#!/bin/sh\n');
    chmodSync(binary, 0o755);
    expect(findTestServer({ [TEST_SERVER_ENV_VAR]: binary, PATH: '' })).toEqual({
      executable: { type: 'existing-path', path: binary },
      route: `${TEST_SERVER_ENV_VAR} (${binary})`,
    });
    expect(() => findTestServer({ [TEST_SERVER_ENV_VAR]: join(dir, 'missing') })).toThrow(
      `${TEST_SERVER_ENV_VAR}=${join(dir, 'missing')} is not an executable file`,
    );
  });

  it('then a temporal-test-server on PATH', () => {
    const onPath = join(dir, 'temporal-test-server');
    writeFileSync(onPath, '#!/bin/sh\n');
    chmodSync(onPath, 0o755);
    expect(findTestServer({ PATH: dir })).toEqual({
      executable: { type: 'existing-path', path: onPath },
      route: `found on PATH (${onPath})`,
    });
  });
});
