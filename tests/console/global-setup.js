// Starts a real `mosaic dev` (7 providers of one node: a drain is safe, see the spec; a gateway with its console) in a fresh folder, waits
// for its dev.env, exports what the tests need, and makes two buckets with the dev S3 key.
const { spawn, execFileSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

function readEnv(file) {
  const out = {};
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) out[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return out;
}

async function waitForEnv(file, proc, deadlineMs) {
  while (Date.now() < deadlineMs) {
    if (proc.exitCode !== null) throw new Error(`mosaic dev exited with ${proc.exitCode}`);
    if (fs.existsSync(file)) {
      const env = readEnv(file);
      if (env.MOSAIC_CONSOLE_PASSWORD) return env;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('mosaic dev did not write dev.env in time');
}

module.exports = async () => {
  const binary = process.env.MOSAIC_BINARY;
  if (!binary || !fs.existsSync(binary)) throw new Error('set MOSAIC_BINARY to the mosaic binary');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'console-test-'));
  const log = fs.openSync(path.join(dir, 'dev.log'), 'w');
  const proc = spawn(binary, ['dev', '--dir', dir, '--port', '0', '--console-port', '0', '--providers', '7', '--node-down-after', '5s'],
    { stdio: ['ignore', log, log] });
  const env = await waitForEnv(path.join(dir, 'dev.env'), proc, Date.now() + 120_000);
  Object.assign(process.env, env, { CONSOLE_DEV_DIR: dir });
  execFileSync('/usr/bin/python3', [path.join(__dirname, 's3.py'), 'mb', 'press-photos', 'legal-docs'],
    { env: process.env, stdio: 'inherit' });
  return async () => {
    proc.kill('SIGTERM');
    await new Promise((r) => { if (proc.exitCode !== null) r(); else proc.on('exit', r); setTimeout(r, 60_000); });
    if (!process.env.CONSOLE_KEEP_DEV) fs.rmSync(dir, { recursive: true, force: true });
  };
};
