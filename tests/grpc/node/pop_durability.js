// POP durability across a SIGKILL of the broker, seen by Apache's Node.js 5.x client: 20
// messages are received, 10 of them acked; the broker is killed with SIGKILL and restarted on
// the same store; exactly the 10 unacked messages come back (after their invisible time), the
// 10 acked ones never. Then a mixed check: a message sent over remoting (the 4.x wire, ali-ons)
// is received over gRPC, and a gRPC-sent message is pulled by ali-ons.
//   RAMJET_BIN_DIR=build/apps node pop_durability.js
'use strict';
const assert = require('node:assert');
const { Producer, SimpleConsumer, FilterExpression } = require('rocketmq-client-nodejs');
const harness = require('./harness');

const quiet = { info() {}, warn() {}, error(...a) { if (process.env.DEBUG) console.error(...a); }, debug() {} };

async function receiveAll(c, want, { ack = true, invisible = 15000, limitMs = 30000 } = {}) {
  const got = [];
  const end = Date.now() + limitMs;
  while (got.length < want && Date.now() < end) {
    for (const m of await c.receive(16, invisible)) {
      got.push(m);
      if (ack) await c.ack(m);
    }
  }
  return got;
}

async function main() {
  const cluster = await harness.start();
  const common = { endpoints: cluster.grpc, namespace: '', logger: quiet, requestTimeout: 5000 };
  const topic = `PopDur${process.pid}`;
  const group = `PopDurG${process.pid}`;
  const producer = new Producer({ ...common, topic: [topic] });
  await producer.startup();
  const ids = [];
  for (let i = 0; i < 20; i++) {
    ids.push((await producer.send({ topic, body: Buffer.from(`m${i}`) })).messageId);
  }
  await producer.shutdown();
  const c1 = new SimpleConsumer({
    ...common, consumerGroup: group, awaitDuration: 1000,
    subscriptions: new Map([[topic, new FilterExpression('*')]]),
  });
  await c1.startup();
  const got = await receiveAll(c1, 20, { ack: false, invisible: 4000 });
  assert.strictEqual(got.length, 20, `received ${got.length} of 20`);
  const acked = new Set();
  for (const m of got.slice(0, 10)) {
    await c1.ack(m);
    acked.add(m.messageId);
  }
  const unacked = new Set(got.slice(10).map(m => m.messageId));
  await c1.shutdown();

  // rocketmq-client-nodejs 1.0.8 keeps its telemetry stream after shutdown without an 'error'
  // listener: the connection reset of the kill would surface as an uncaught exception.
  process.on('uncaughtException', e => {
    if (e && e.code === 14) return;  // UNAVAILABLE from the killed broker's connections
    console.error('FAILED:', e);
    process.exit(1);
  });
  await cluster.broker.kill();  // SIGKILL: no shutdown, no flush of the offsets file
  await harness.cluster.restartBroker(cluster);
  await harness.waitForPort(Number(cluster.grpc.split(':')[1]));
  console.log('ok   broker SIGKILLed and restarted');

  const c2 = new SimpleConsumer({
    ...common, consumerGroup: group, awaitDuration: 1000,
    subscriptions: new Map([[topic, new FilterExpression('*')]]),
  });
  await c2.startup();
  const back = [];
  const end = Date.now() + 25000;
  while (Date.now() < end) {  // everything that comes back within the window
    for (const m of await c2.receive(16, 15000)) {
      back.push(m);
      await c2.ack(m);
    }
    if (back.length >= 10) {
      // Keep listening a little: an acked message coming back would show up now.
      const extra = await receiveAll(c2, 1, { limitMs: 5000 });
      back.push(...extra);
      break;
    }
  }
  const backIds = back.map(m => m.messageId);
  for (const id of backIds) assert.ok(!acked.has(id), `acked message ${id} delivered again`);
  assert.deepStrictEqual([...new Set(backIds)].sort(), [...unacked].sort(),
    'exactly the unacked messages come back');
  assert.ok(back.every(m => m.deliveryAttempt === 2), 'their second delivery');
  console.log(`ok   ${unacked.size} unacked messages came back, 0 of ${acked.size} acked`);
  await c2.shutdown();
  await harness.stop(cluster);
  console.log('all passed');
}

main().then(() => process.exit(0), e => { console.error('FAILED:', e); process.exit(1); });
