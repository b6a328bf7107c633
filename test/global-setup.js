// Worker threads run compiled JavaScript: build dist/ once before the suites start. Type errors are reported by
// `npm run typecheck` (part of `npm test`); here tsc still emits, so a type error elsewhere doesn't stop every suite.
const { spawnSync, execFileSync } = require('node:child_process');
const path = require('node:path');

module.exports = async function globalSetup() {
  const root = path.resolve(__dirname, '..');
  const tsc = spawnSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.json'], {
    cwd: root,
    encoding: 'utf8',
  });
  if (tsc.status !== 0) process.stderr.write(`\n[global-setup] tsc reported errors (JavaScript emitted anyway):\n${tsc.stdout}${tsc.stderr}\n`);
  execFileSync(process.execPath, [path.join(root, 'scripts', 'copy-assets.js'), '--full'], { cwd: root, stdio: 'inherit' });
};
