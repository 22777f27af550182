'use strict';
// A name server and a broker with its gRPC port, from the compat tests' process harness
// (tests/compat/lib/cluster.js: free ports, readiness, SIGKILL on exit).
const cluster = require('../../compat/lib/cluster');

async function start(extraArgs = []) {
  const grpcPort = await cluster.pickPort([0]);
  const c = await cluster.startCluster({ brokerArgs: [`--grpcServerPort=${grpcPort}`, ...extraArgs] });
  c.grpc = `127.0.0.1:${grpcPort}`;
  await waitForPort(grpcPort);
  return c;
}

async function waitForPort(port) {
  const net = require('net');
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise(resolve => {
      const s = net.connect({ port, host: '127.0.0.1' }, () => { s.destroy(); resolve(true); });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise(r => setTimeout(r, 100));
  }
  throw new Error(`gRPC port ${port} does not accept connections`);
}

async function stop(c) {
  await c.broker.stop();
  await c.namesrv.stop();
  require('fs').rmSync(c.dir, { recursive: true, force: true });
}

module.exports = { start, stop, waitForPort, cluster };
