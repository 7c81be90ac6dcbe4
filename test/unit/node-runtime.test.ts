import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { delimiter, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const read = (file: string) => readFileSync(new URL(file, new URL('../../', import.meta.url)), 'utf8');
const major = Number(process.versions.node.split('.')[0]);

/** scripts/node-runtime.mjs run with the node running the tests, as .ci/run runs it. */
function nodeRuntime(args: string[], env: Record<string, string>) {
  return spawnSync(process.execPath, ['scripts/node-runtime.mjs', ...args], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, ...env },
  });
}

describe('Node.js versions', () => {
  it('the image, CI and engines agree: Node 24 everywhere, Node 22 still accepted', () => {
    const bases = [...read('Dockerfile').matchAll(/^FROM\s+(\S+)/gm)].map((match) => match[1]);
    expect(bases.length, 'Dockerfile stages').toBeGreaterThanOrEqual(2);
    for (const base of bases) expect(base, 'base image').toMatch(/^node:24-[a-z]+-slim$/);
    const ci = read('.ci/run');
    expect(ci.indexOf('node scripts/node-runtime.mjs 24 --bin-dir'), 'CI puts Node 24 on PATH before npm ci').toBeGreaterThan(-1);
    expect(ci.indexOf('node scripts/node-runtime.mjs 24 --bin-dir')).toBeLessThan(ci.indexOf('npm ci'));
    const { engines } = JSON.parse(read('package.json')) as { engines: { node: string } };
    expect(engines.node).toBe('^22.13.0 || ^24.0.0');
    expect(read('scripts/bootstrap.mjs'), 'bootstrap refuses what engines refuses').toContain('major < 22 || (major === 22 && minor < 13)');
    const lock = JSON.parse(read('package-lock.json')) as { packages: Record<string, { engines?: { node?: string } }> };
    const node22Floors = Object.entries(lock.packages)
      .filter(([path]) => path !== '')
      .map(([path, entry]) => ({ path, minor: Number(/\b22\.(\d+)/.exec(entry.engines?.node ?? '')?.[1] ?? 0) }));
    const highest = node22Floors.reduce((a, b) => (b.minor > a.minor ? b : a));
    expect(highest.minor, `engines' Node 22 floor covers ${highest.path}`).toBeLessThanOrEqual(13);
    expect([22, 24], 'the tests run on a supported Node').toContain(major);
  });

  it('node-runtime.mjs takes a node of the asked major from PATH and names a variable pointing at another one', () => {
    const found = nodeRuntime([String(major), '--bin-dir'], { PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH}` });
    expect(found.stderr).toBe('');
    expect(found.stdout.trim()).toBe(dirname(process.execPath));

    const other = major === 24 ? 22 : 24;
    const wrong = nodeRuntime([String(other)], { [`NODE_${other}_PATH`]: process.execPath });
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toContain(`NODE_${other}_PATH=${process.execPath} is not a Node.js ${other} executable`);

    const unsupported = nodeRuntime(['20'], {});
    expect(unsupported.status).toBe(1);
    expect(unsupported.stderr).toContain('Node.js 20 is not one this project runs on: use 22 or 24');
  });
});
