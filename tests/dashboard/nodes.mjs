// Three `datafold node` processes on loopback for the dashboard tests, as the quick start
// runs them (scripts/local_network.sh): LAN discovery on the loopback interface only, on a
// port and network name of their own, every port chosen by the kernel. alice serves the
// sample UserProfile schema. stopAll() ends every process started, and is safe to call
// after a failure.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const names = ['alice', 'bob', 'carol'];
// Longer than the whole test may take (CTest's timeout for it is 240 s).
const kNodeLifetimeSeconds = 300;

// Waits for `check` to return something truthy, every 50 ms, until `ms` pass.
export async function waitFor(what, check, ms = 20000) {
  const deadline = Date.now() + ms;
  let last;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}${last ? `: ${last.message}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export class LoopbackNetwork {
  constructor(datafold) {
    this.datafold = datafold;
    this.work = mkdtempSync(join(tmpdir(), 'datafold-dashboard-'));
    this.processes = new Map();
    // However this script ends (an uncaught error included), no node is left running.
    process.on('exit', () => {
      for (const child of this.processes.values()) if (child.exitCode === null) child.kill('SIGKILL');
    });
    this.nodes = {};
    const port = 20000 + Math.floor(Math.random() * 10000);
    this.lan = ['--discovery-interface', 'lo', '--discovery-port', String(port), '--network', `dashboard-${process.pid}`];
  }

  run(name, args) {
    const result = spawnSync(this.datafold, ['--data-dir', join(this.work, name), '--log-level', 'warn', ...args],
      { encoding: 'utf8', timeout: 20000 });
    if (result.status !== 0) throw new Error(`datafold ${args.join(' ')} failed: ${result.stderr}`);
    return result.stdout;
  }

  async start() {
    for (const name of names) {
      const identity = JSON.parse(this.run(name, ['--json', 'id']));
      // --duration: a node outlives this script by at most that long even if the script is
      // killed outright (CTest's timeout) and never reaches stopAll().
      const args = ['--data-dir', join(this.work, name), '--log-level', 'warn', 'node', '--listen', '127.0.0.1:0',
        '--http', '127.0.0.1:0', '--no-port-mapping', ...this.lan, '--announce-interval-ms', '1000',
        '--duration', String(kNodeLifetimeSeconds)];
      if (name === 'alice') args.push('--sample');
      const child = spawn(this.datafold, args, { stdio: ['ignore', 'ignore', 'pipe'] });
      let log = '';
      child.stderr.on('data', (chunk) => { log += chunk; });
      this.processes.set(name, child);
      this.nodes[name] = { id: identity.node_id, publicKey: identity.public_key, log: () => log };
    }
    for (const name of names) {
      // The node writes where it serves its API into its data dir once it listens.
      const record = await waitFor(`${name}'s HTTP API`, () => {
        const text = readFileSync(join(this.work, name, 'node.json'), 'utf8');
        const parsed = JSON.parse(text);
        return parsed.http ? parsed : null;
      });
      this.nodes[name].url = `http://${record.http}`;
      this.nodes[name].port = Number(record.http.split(':').pop());
    }
  }

  // SIGTERM to each node, and how long each took to exit; SIGKILL past the deadline.
  async stopAll(deadlineMs = 15000) {
    const took = {};
    await Promise.all([...this.processes].map(([name, child]) => new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      const started = Date.now();
      const killer = setTimeout(() => child.kill('SIGKILL'), deadlineMs);
      child.once('exit', () => {
        clearTimeout(killer);
        took[name] = Date.now() - started;
        resolve();
      });
      child.kill('SIGTERM');
    })));
    this.processes.clear();
    rmSync(this.work, { recursive: true, force: true });
    return took;
  }
}
