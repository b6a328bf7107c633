#!/usr/bin/env node
// Runs a program of this package from dist/ (`npm start`, `npm run serve`, `npm run perf`, `npm run example:client`),
// building dist/ first when it is missing or older than the sources, so that every documented command works on a
// fresh clone without a separate `npm run build`. Usage: node scripts/run-built.js <program> [arguments...]
// where <program> is a bin of package.json (inference-server, inference-perf) or a path under dist/ (examples/client.js).
// npm has no "build if stale" step, and even an up-to-date `tsc -b` costs seconds of reading, hence this stamp check.
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
// The server alone builds from tsconfig.server.json (faster, as `npm run build:server`); the other programs need it all.
const FULL = { config: 'tsconfig.json', stamp: path.join(root, 'dist', '.build-stamp') };
const SERVER = { config: 'tsconfig.server.json', stamp: path.join(root, 'dist', '.build-stamp-server') };

/** Newest modification time of the files tsc and copy-assets read for a config (sources under its include, the configs). */
function newestSource(config) {
  const tsconfig = JSON.parse(fs.readFileSync(path.join(root, config), 'utf8'));
  let newest = Math.max(...[config, 'tsconfig.json', 'package.json'].map((file) => fs.statSync(path.join(root, file)).mtimeMs));
  const visit = (dir) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) visit(full);
      else if (/\.(ts|py|proto)$/.test(entry.name)) newest = Math.max(newest, fs.statSync(full).mtimeMs);
    }
  };
  for (const pattern of tsconfig.include) {
    const top = pattern.split('/')[0];
    const full = path.join(root, top);
    if (!fs.existsSync(full)) continue;
    if (fs.statSync(full).isDirectory()) visit(full);
    else newest = Math.max(newest, fs.statSync(full).mtimeMs);
  }
  return newest;
}

const stampTime = (file) => (fs.existsSync(file) ? fs.statSync(file).mtimeMs : 0);

function ensureBuilt(target) {
  // A full build also holds the server.
  const built = Math.max(stampTime(target.stamp), target === SERVER ? stampTime(FULL.stamp) : 0);
  if (built >= newestSource(target.config)) return;
  process.stderr.write(built === 0 ? 'building dist/ (first run) ...\n' : 'rebuilding dist/ (sources changed) ...\n');
  const tsc = spawnSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-b', target.config], { cwd: root, stdio: 'inherit' });
  if (tsc.status !== 0) {
    process.stderr.write('error: the TypeScript build failed (see above); fix it or run `npm run build` to see it again\n');
    process.exit(1);
  }
  const assets = spawnSync(process.execPath, [path.join(root, 'scripts', 'copy-assets.js'), ...(target === FULL ? ['--full'] : [])], { cwd: root, stdio: 'inherit' });
  if (assets.status !== 0) process.exit(1);
  if (target === SERVER) fs.writeFileSync(SERVER.stamp, `${new Date().toISOString()}\n`);
}

function programPath(name) {
  const bins = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).bin;
  if (bins[name]) return path.join(root, bins[name]);
  const file = path.join(root, 'dist', name);
  const inDist = !path.isAbsolute(name) && !path.relative(path.join(root, 'dist'), file).startsWith('..');
  if (!inDist || !fs.existsSync(file)) {
    process.stderr.write(`error: unknown program '${name}': use one of ${Object.keys(bins).join(', ')} or a file under dist/\n`);
    process.exit(2);
  }
  return file;
}

const [name, ...args] = process.argv.slice(2);
if (!name) {
  process.stderr.write('usage: node scripts/run-built.js <program> [arguments...]\n');
  process.exit(2);
}
ensureBuilt(name === 'inference-server' ? SERVER : FULL);
// The server's V8 heap flags, as the image's launcher gives them (server/launch-flags.ts says why).
const launchFlags = name === 'inference-server' ? require(path.join(root, 'dist', 'server', 'launch-flags.js')).serverNodeFlags() : [];
const child = spawn(process.execPath, [...launchFlags, programPath(name), ...args], { cwd: process.cwd(), stdio: 'inherit' });
child.on('error', (error) => {
  process.stderr.write(`error: cannot start ${name}: ${error.message}\n`);
  process.exit(1);
});
// npm and a terminal signal this process: pass the signal on so the server drains and exits on its own terms.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
// Exit as the program did (a shell's 128 + signal number when a signal ended it).
child.on('exit', (code, signal) => process.exit(code ?? 128 + (require('node:os').constants.signals[signal] ?? 0)));
