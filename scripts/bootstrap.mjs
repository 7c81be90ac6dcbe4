// Checks the Node.js version, then installs the npm dependencies when they are missing or older than
// package-lock.json, so the README's two commands work on a fresh clone. Plain Node: it runs before
// anything is installed, on whatever `node` the machine has.
import { execSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';

// package.json's engines: Node 24 (LTS, what CI and the image run) and Node 22 while it is maintained.
// The dependencies need 22.13 or later (eslint 10; vitest 5 and fastify's cookie need 22.12).
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 13)) {
  console.error(
    `Node.js ${process.version} is too old for this project: it runs on Node.js 24 (or 22.13 and later).\n` +
      'Get Node.js 24 with one of:\n' +
      '  npm run tools:node    fetches it from the npm registry into .tools/node-24 and prints the PATH line to use it\n' +
      '  nvm install 24        with nvm (https://github.com/nvm-sh/nvm)\n' +
      'or from https://nodejs.org/, then run the command again.',
  );
  process.exit(1);
}
if (major !== 22 && major !== 24) {
  console.warn(`Node.js ${process.version} is not one this project is tested on (24, or 22): carrying on.`);
}

const installed = 'node_modules/.package-lock.json';
if (!existsSync(installed) || statSync(installed).mtimeMs < statSync('package-lock.json').mtimeMs) {
  console.log('Installing npm dependencies (npm ci)...');
  execSync('npm ci --no-audit --no-fund', { stdio: 'inherit' });
}
