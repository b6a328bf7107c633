// Worker threads run compiled JavaScript: build dist/ once before the suites start (incremental, so cheap when fresh).
const { execFileSync } = require('node:child_process');
const path = require('node:path');

module.exports = async function globalSetup() {
  const root = path.resolve(__dirname, '..');
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.json'], { cwd: root, stdio: 'inherit' });
  execFileSync(process.execPath, [path.join(root, 'scripts', 'copy-assets.js')], { cwd: root, stdio: 'inherit' });
};
