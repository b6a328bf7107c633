// Copies non-TypeScript files the server reads at run time (.proto schemas, the Python backend's stub .py files) next to the compiled JavaScript in dist/.
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
function walk(dir) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) walk(full);
    else if (entry.name.endsWith('.proto') || entry.name.endsWith('.py')) {
      const target = path.join(root, 'dist', path.relative(root, full));
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.copyFileSync(full, target);
    }
  }
}
walk(path.join(root, 'server'));
// After a full build (--full): scripts/run-built.js compares this stamp with the sources to decide whether to build again.
if (process.argv.includes('--full')) fs.writeFileSync(path.join(root, 'dist', '.build-stamp'), `${new Date().toISOString()}\n`);
