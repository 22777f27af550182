'use strict';
// Starts and stops the real Ramjet name server and broker as child processes.

const childProcess = require('child_process');
const fs = require('fs');
const net = require('net');
const os = require('os');
const path = require('path');
const readline = require('readline');

const BIN_DIR = process.env.RAMJET_BIN_DIR || path.resolve(__dirname, '../../../build/apps');
const READY_TIMEOUT_MS = 20000;
const STOP_TIMEOUT_MS = 20000;
const START_ATTEMPTS = 5;

/** Every child we started, so that a dying test never leaves servers behind. */
const live = new Set();
process.on('exit', () => {
  for (const p of live) {
    try {
      p.child.kill('SIGKILL');
    } catch (err) {
      // already gone
    }
  }
});

function sleep(ms) {
  return new Promise(r => setTimeout(r, ms));
}

function makeTempDir(prefix = 'ramjet-compat-') {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

function removeDir(dir) {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
}

function binPath(name) {
  const p = path.join(BIN_DIR, name);
  if (!fs.existsSync(p)) {
    throw new Error(`binary not found: ${p} (set RAMJET_BIN_DIR to the directory holding ramjet-namesrv and ramjet-broker)`);
  }
  return p;
}

/** Resolves true if nobody listens on the port (checked by binding it on all interfaces). */
function portFree(port) {
  return new Promise(resolve => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host: '0.0.0.0', exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/**
 * Picks a random port in [10100, 31900) such that port+o is free for every o in offsets: below
 * the kernel's ephemeral range (32768-), where any outgoing connection may hold a port.
 */
async function pickPort(offsets = [ 0 ], avoid = []) {
  for (let i = 0; i < 200; i++) {
    const port = 10100 + Math.floor(Math.random() * 21800);
    const ports = offsets.map(o => port + o);
    if (ports.some(p => p < 1024 || p > 65535 || avoid.includes(p))) continue;
    let ok = true;
    for (const p of ports) {
      if (!(await portFree(p))) {
        ok = false;
        break;
      }
    }
    if (ok) return port;
  }
  throw new Error('could not find a free port in 10100-31900 after 200 tries');
}

/** Resolves when a TCP connect to 127.0.0.1:port succeeds. */
function tryConnect(port, timeoutMs = 1000) {
  return new Promise(resolve => {
    const sock = net.connect({ host: '127.0.0.1', port });
    const timer = setTimeout(() => {
      sock.destroy();
      resolve(false);
    }, timeoutMs);
    sock.once('connect', () => {
      clearTimeout(timer);
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => {
      clearTimeout(timer);
      resolve(false);
    });
  });
}

/** A server child process. */
class ServerProcess {
  constructor(name, bin, args, port) {
    this.name = name;
    this.bin = bin;
    this.args = args;
    this.port = port;
    this.stderrTail = [];
    this.exited = null; // {code, signal} once exited
  }

  get addr() {
    return `127.0.0.1:${this.port}`;
  }

  get alive() {
    return this.exited === null;
  }

  spawn() {
    const child = childProcess.spawn(this.bin, this.args, { stdio: [ 'ignore', 'pipe', 'pipe' ] });
    this.child = child;
    live.add(this);
    this.exitPromise = new Promise(resolve => {
      child.once('exit', (code, signal) => {
        this.exited = { code, signal };
        live.delete(this);
        resolve(this.exited);
      });
      child.once('error', err => {
        this.exited = { code: null, signal: null, error: err };
        live.delete(this);
        resolve(this.exited);
      });
    });
    const pipe = (stream, tag) => {
      const rl = readline.createInterface({ input: stream, crlfDelay: Infinity });
      rl.on('line', line => {
        this.stderrTail.push(line);
        if (this.stderrTail.length > 40) this.stderrTail.shift();
        if (!process.env.RAMJET_COMPAT_QUIET_SERVERS) process.stderr.write(`[${this.name}${tag}] ${line}\n`);
      });
    };
    pipe(child.stderr, '');
    pipe(child.stdout, ' stdout');
  }

  describeExit() {
    if (!this.exited) return 'running';
    if (this.exited.error) return `failed to start: ${this.exited.error.message}`;
    return this.exited.signal ? `killed by ${this.exited.signal}` : `exit code ${this.exited.code}`;
  }

  /** Spawns and waits until the port accepts TCP connections. */
  async start() {
    this.spawn();
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (!this.alive) {
        const err = new Error(`${this.name} exited before it was ready (${this.describeExit()}); command: ${this.commandLine()}\n` +
          `last output:\n  ${this.stderrTail.slice(-15).join('\n  ')}`);
        err.exitedEarly = true;
        throw err;
      }
      if (await tryConnect(this.port)) {
        if (this.alive) return this;
      }
      await sleep(100);
    }
    await this.kill();
    throw new Error(`${this.name} did not accept connections on port ${this.port} within ${READY_TIMEOUT_MS} ms; command: ${this.commandLine()}`);
  }

  commandLine() {
    return [ this.bin, ...this.args ].map(a => (/\s/.test(a) ? `'${a}'` : a)).join(' ');
  }

  /** SIGKILL, no checks (cleanup after a failure). */
  async kill() {
    if (!this.alive) return;
    this.child.kill('SIGKILL');
    await Promise.race([ this.exitPromise, sleep(5000) ]);
  }

  /** Clean stop: SIGINT, wait up to 20 s; then SIGKILL and throw. Throws on a non-zero exit. */
  async stop() {
    if (!this.alive) {
      throw new Error(`${this.name} was already dead before stop (${this.describeExit()})`);
    }
    const t0 = Date.now();
    this.child.kill('SIGINT');
    const res = await Promise.race([ this.exitPromise, sleep(STOP_TIMEOUT_MS).then(() => null) ]);
    if (!res) {
      this.child.kill('SIGKILL');
      await Promise.race([ this.exitPromise, sleep(5000) ]);
      throw new Error(`${this.name} did not exit within ${STOP_TIMEOUT_MS} ms of SIGINT; killed with SIGKILL`);
    }
    if (res.code !== 0) {
      throw new Error(`${this.name} stopped by SIGINT with ${this.describeExit()} (expected exit code 0)`);
    }
    console.error(`[cluster] ${this.name} stopped cleanly in ${Date.now() - t0} ms`);
  }
}

async function startWithRetry(make, fixedPort) {
  let lastErr;
  for (let attempt = 1; attempt <= (fixedPort ? 1 : START_ATTEMPTS); attempt++) {
    const proc = await make();
    try {
      return await proc.start();
    } catch (err) {
      lastErr = err;
      if (!err.exitedEarly) throw err;
      console.error(`[cluster] ${proc.name} on port ${proc.port} failed to start (attempt ${attempt}), retrying on another port if allowed: ${err.message.split('\n')[0]}`);
    }
  }
  throw lastErr;
}

/**
 * Starts ramjet-namesrv. opts: {dir (required), port}.
 * Returns a ServerProcess (addr, port, stop(), kill(), alive).
 */
async function startNamesrv({ dir, port, avoid = [] }) {
  const bin = binPath('ramjet-namesrv');
  fs.mkdirSync(dir, { recursive: true });
  return startWithRetry(async () => {
    const p = port || await pickPort([ 0 ], avoid);
    return new ServerProcess('namesrv', bin, [ `--listenPort=${p}`, `--kvConfigPath=${path.join(dir, 'kv.json')}` ], p);
  }, port);
}

/**
 * Starts ramjet-broker. opts: {dir (storePathRootDir, required), nsAddr (required), port, brokerName, avoid}.
 * The broker also listens on port-2 (VIP); port+1 is kept free too (HA port convention).
 */
async function startBroker({ dir, nsAddr, port, brokerName = 'broker-a', avoid = [], extraArgs = [] }) {
  const bin = binPath('ramjet-broker');
  fs.mkdirSync(dir, { recursive: true });
  const nsPort = Number(nsAddr.split(':').pop());
  return startWithRetry(async () => {
    const p = port || await pickPort([ -2, -1, 0, 1 ], [ nsPort, ...avoid ]);
    const proc = new ServerProcess('broker', bin, [
      `--namesrvAddr=${nsAddr}`,
      `--listenPort=${p}`,
      `--storePathRootDir=${dir}`,
      `--brokerName=${brokerName}`,
      '--brokerClusterName=DefaultCluster',
      '--brokerIP1=127.0.0.1',
      '--registerNameServerPeriod=10000',
      ...extraArgs,
    ], p);
    proc.storeDir = dir;
    proc.extraArgs = extraArgs;
    const origStop = proc.stop.bind(proc);
    proc.stop = async () => {
      await origStop();
      const abort = path.join(dir, 'abort');
      if (fs.existsSync(abort)) {
        throw new Error(`broker exited after SIGINT but left ${abort} behind (not a clean shutdown)`);
      }
    };
    return proc;
  }, port);
}

/**
 * Name server + one broker in a fresh temp dir. brokerArgs: extra broker argv elements (kept for
 * restartBroker), e.g. ['--messageDelayLevel=1s 2s 3s'].
 */
async function startCluster({ brokerArgs = [] } = {}) {
  const dir = makeTempDir();
  const cluster = { dir, namesrv: null, broker: null };
  try {
    cluster.namesrv = await startNamesrv({ dir: path.join(dir, 'namesrv') });
    cluster.broker = await startBroker({ dir: path.join(dir, 'broker'), nsAddr: cluster.namesrv.addr, extraArgs: brokerArgs });
  } catch (err) {
    await killAll();
    throw Object.assign(err, { clusterDir: dir });
  }
  cluster.nsAddr = cluster.namesrv.addr;
  cluster.brokerAddr = cluster.broker.addr;
  console.error(`[cluster] namesrv ${cluster.nsAddr}, broker ${cluster.brokerAddr} (vip ${cluster.broker.port - 2}), dir ${dir}`);
  return cluster;
}

/** Restarts the cluster's broker on the same store dir, port and extra arguments (after a stop). */
async function restartBroker(cluster) {
  const old = cluster.broker;
  cluster.broker = await startBroker({ dir: old.storeDir, nsAddr: cluster.nsAddr, port: old.port, extraArgs: old.extraArgs || [] });
  return cluster.broker;
}

/** SIGKILLs every child still alive (used on failure paths). */
async function killAll() {
  await Promise.all(Array.from(live).map(p => p.kill()));
}

function liveProcesses() {
  return Array.from(live);
}

module.exports = {
  BIN_DIR,
  ServerProcess,
  makeTempDir,
  removeDir,
  pickPort,
  portFree,
  tryConnect,
  startNamesrv,
  startBroker,
  startCluster,
  restartBroker,
  killAll,
  liveProcesses,
  sleep,
};
