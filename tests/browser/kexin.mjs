// Running Kexin for the browser tests: a 4-validator network (`kexin net up`), a single-node
// open chain (`kexin node init` + `kexin node run`), and `kexin attest`.

import { spawn, execFile } from 'node:child_process';
import { existsSync, openSync, readFileSync, closeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));

/** The debug `kexin` binary: $KEXIN_BIN, else $CARGO_TARGET_DIR/debug/kexin, else target/debug/kexin. */
export function kexinBin() {
  const bin = process.env.KEXIN_BIN || join(resolve(ROOT, process.env.CARGO_TARGET_DIR || 'target'), 'debug', 'kexin');
  if (!existsSync(bin)) throw new Error(`no kexin binary at ${bin}: run cargo build --bin kexin first (or set KEXIN_BIN)`);
  return bin;
}

/** Runs `kexin args...` to completion; resolves stdout, rejects with stderr. */
export function kexin(args, { timeout = 120_000 } = {}) {
  return new Promise((resolve_, reject) => {
    execFile(kexinBin(), args, { timeout, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`kexin ${args.join(' ')} failed: ${err.message}\n${stderr}`));
      else resolve_(stdout);
    });
  });
}

function startLogged(args, logFile) {
  const fd = openSync(logFile, 'a');
  const child = spawn(kexinBin(), args, { stdio: ['ignore', fd, fd] });
  closeSync(fd);
  child.exited = new Promise((r) => child.on('exit', (code, signal) => r({ code, signal })));
  return child;
}

async function waitFor(what, fn, { timeout = 90_000, interval = 250, log } = {}) {
  const end = Date.now() + timeout;
  let last;
  while (Date.now() < end) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    await sleep(interval);
  }
  const tail = log && existsSync(log) ? `\n--- ${log}:\n${readFileSync(log, 'utf8').slice(-3000)}` : '';
  throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ''}${tail}`);
}

async function healthy(url) {
  const r = await fetch(`${url}/v1/health`);
  return r.ok;
}

/** `kexin net up --nodes N --suite S --dir D`, until every node answers. */
export async function netUp(dir, { nodes = 4, suite = 'gm' } = {}) {
  const log = join(dir, '..', 'net-up.log');
  const child = startLogged(['net', 'up', '--nodes', String(nodes), '--suite', suite, '--dir', dir], log);
  let down = false;
  const net = {
    dir,
    log,
    url: (i = 0) => readFileSync(join(dir, `node-${i}`, 'api-url'), 'utf8').trim(),
    async down() {
      if (down) return;
      down = true;
      await kexin(['net', 'down', '--dir', dir], { timeout: 30_000 }).catch(() => {});
      const done = await Promise.race([child.exited, sleep(20_000).then(() => null)]);
      if (!done) child.kill('SIGKILL');
    },
  };
  try {
    await waitFor(
      `${nodes} nodes of kexin net up`,
      async () => {
        if (child.exitCode !== null) throw new Error(`kexin net up exited (${child.exitCode})`);
        for (let i = 0; i < nodes; i++) if (!(await healthy(net.url(i)))) return false;
        return true;
      },
      { log },
    );
  } catch (e) {
    await net.down();
    throw e;
  }
  return net;
}

/** A single-validator open chain (any key may attest; metadata is public). */
export async function openNode(dir, { suite = 'intl' } = {}) {
  await kexin(['node', 'init', '--dir', dir, '--suite', suite, '--api', '127.0.0.1:0']);
  const log = join(dir, '..', 'open-node.log');
  const child = startLogged(['node', 'run', '--dir', dir], log);
  let stopped = false;
  const node = {
    dir,
    key: join(dir, 'keys', 'client.pem'),
    url: () => readFileSync(join(dir, 'api-url'), 'utf8').trim(),
    async stop() {
      if (stopped) return;
      stopped = true;
      child.kill('SIGTERM');
      const done = await Promise.race([child.exited, sleep(15_000).then(() => null)]);
      if (!done) child.kill('SIGKILL');
    },
  };
  try {
    await waitFor('the open node', async () => {
      if (child.exitCode !== null) throw new Error(`kexin node run exited (${child.exitCode})`);
      return existsSync(join(dir, 'api-url')) && healthy(node.url());
    }, { log });
  } catch (e) {
    await node.stop();
    throw e;
  }
  return node;
}

/**
 * `kexin attest` with `--json`: `files` or `digests`, as `identity` (a consortium) or with
 * `key` (an open chain). Returns the summary ({receipts: [{digest, tx_hash, height}], ...}).
 */
export async function attest(url, out, { files = [], digests = [], identity, key, label } = {}) {
  const args = ['attest', ...files, '--node', url, '--out', out, '--force', '--json'];
  for (const d of digests) args.push('--digest', d);
  if (identity) args.push('--identity', identity);
  if (key) args.push('--key', key);
  if (label !== undefined) args.push('--label', label);
  return JSON.parse(await kexin(args));
}
