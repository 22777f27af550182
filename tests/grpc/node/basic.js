// Apache's Node.js 5.x client (rocketmq-client-nodejs 1.0.8, gRPC) against a Ramjet broker's
// own apache.rocketmq.v2 service: producer (normal, FIFO, delay, transaction commit and
// rollback), SimpleConsumer (receive, ack, redelivery after the invisible time,
// changeInvisibleDuration, tag filter) and PushConsumer. Every step asserts what a user sees.
// With RAMJET_GRPC=host:port it uses a running broker; otherwise it starts ramjet-namesrv and
// ramjet-broker from RAMJET_BIN_DIR (the compat tests' harness) on free ports.
//   RAMJET_BIN_DIR=build/apps node basic.js
'use strict';
const assert = require('node:assert');
const {
  Producer, SimpleConsumer, PushConsumer, FilterExpression, ConsumeResult,
} = require('rocketmq-client-nodejs');
const harness = require('./harness');

let endpoints = process.env.RAMJET_GRPC;
const run = `${process.pid}`;
const quiet = { info() {}, warn() {}, error(...a) { if (process.env.DEBUG) console.error(...a); }, debug() {} };
const sleep = ms => new Promise(r => setTimeout(r, ms));
let common;

// Receives until `want` messages arrived or the time is up (bounded), acking each unless told.
async function receiveAll(consumer, want, { ack = true, invisible = 15000, limitMs = 30000 } = {}) {
  const got = [];
  const end = Date.now() + limitMs;
  while (got.length < want && Date.now() < end) {
    const batch = await consumer.receive(16, invisible);
    for (const m of batch) {
      got.push(m);
      if (ack) await consumer.ack(m);
    }
  }
  return got;
}

async function simpleConsumer(group, topic, tag = '*') {
  const c = new SimpleConsumer({
    ...common, consumerGroup: group, awaitDuration: 2000,
    subscriptions: new Map([[topic, new FilterExpression(tag)]]),
  });
  await c.startup();
  return c;
}

async function step(name, fn) {
  const t0 = Date.now();
  await fn();
  console.log(`ok   ${name} (${Date.now() - t0} ms)`);
}

async function main() {
  // Transaction checks every second for halves older than a second (the check-back step).
  const cluster = endpoints ? null
    : await harness.start(['--transactionTimeOut=1000', '--transactionCheckInterval=1000']);
  if (cluster) endpoints = cluster.grpc;
  common = { endpoints, namespace: '', logger: quiet, requestTimeout: 5000 };
  const topic = `GrpcT${run}`;
  const producer = new Producer({
    ...common, topic: [topic],
    checker: { async check() { return 1; } },  // COMMIT (check-back not exercised here)
  });
  await producer.startup();

  await step('normal send, tag filter, receive and ack', async () => {
    const sent = new Map();
    for (let i = 0; i < 20; i++) {
      const r = await producer.send({
        topic, tag: 'TagA', keys: [`k${i}`], body: Buffer.from(`normal-${i}`),
        properties: new Map([['seq', `${i}`]]),
      });
      assert.ok(r.messageId, 'a message id');
      sent.set(r.messageId, i);
    }
    for (let i = 0; i < 5; i++) await producer.send({ topic, tag: 'TagB', body: Buffer.from(`b-${i}`) });
    const c = await simpleConsumer(`GrpcG1${run}`, topic, 'TagA');
    const got = await receiveAll(c, 20);
    assert.strictEqual(got.length, 20, `received ${got.length} of 20`);
    for (const m of got) {
      assert.ok(sent.has(m.messageId), `unknown id ${m.messageId}`);
      const i = sent.get(m.messageId);
      assert.strictEqual(m.body.toString(), `normal-${i}`);
      assert.strictEqual(m.tag, 'TagA');
      assert.deepStrictEqual(m.keys, [`k${i}`]);
      assert.strictEqual(m.properties.get('seq'), `${i}`);
      assert.strictEqual(m.deliveryAttempt, 1);
      assert.ok(!m.corrupted, 'body digest verified');
      sent.delete(m.messageId);
    }
    assert.strictEqual(sent.size, 0, 'every message exactly once');
    const more = await c.receive(16, 15000);
    assert.strictEqual(more.length, 0, 'TagB filtered out, nothing left');
    await c.shutdown();
  });

  await step('redelivery after the invisible time, then ack', async () => {
    const t = `${topic}R`;
    const r = await producer.send({ topic: t, body: Buffer.from('again') });
    const c = await simpleConsumer(`GrpcG2${run}`, t);
    const first = await receiveAll(c, 1, { ack: false, invisible: 2000 });
    assert.strictEqual(first.length, 1);
    assert.strictEqual(first[0].messageId, r.messageId);
    const t0 = Date.now();
    const second = await receiveAll(c, 1, { ack: false, invisible: 15000 });
    assert.strictEqual(second.length, 1, 'delivered again');
    assert.strictEqual(second[0].messageId, r.messageId, 'same message id');
    assert.strictEqual(second[0].deliveryAttempt, 2);
    assert.strictEqual(second[0].body.toString(), 'again');
    assert.ok(Date.now() - t0 < 15000, 'came back within the invisible time plus revive');
    await c.ack(second[0]);
    let stale = null;
    try { await c.ack(first[0]); } catch (e) { stale = e; }
    assert.ok(stale, 'the first receipt handle is no longer valid');
    const none = await c.receive(16, 15000);
    assert.strictEqual(none.length, 0, 'acked: not delivered again');
    await c.shutdown();
  });

  await step('changeInvisibleDuration shortens the wait', async () => {
    const t = `${topic}C`;
    const r = await producer.send({ topic: t, body: Buffer.from('change') });
    const c = await simpleConsumer(`GrpcG3${run}`, t);
    const first = await receiveAll(c, 1, { ack: false, invisible: 60000 });
    assert.strictEqual(first.length, 1);
    await c.changeInvisibleDuration(first[0], 1000);
    const t0 = Date.now();
    const again = await receiveAll(c, 1, { limitMs: 20000 });
    assert.strictEqual(again.length, 1, 'back after the new, shorter invisible time');
    assert.strictEqual(again[0].messageId, r.messageId);
    assert.ok(Date.now() - t0 < 20000);
    await c.shutdown();
  });

  await step('FIFO message group: sends in order, received in order', async () => {
    const t = `${topic}F`;
    for (let i = 0; i < 10; i++) {
      await producer.send({ topic: t, messageGroup: 'order-1', body: Buffer.from(`f${i}`) });
    }
    const c = await simpleConsumer(`GrpcG4${run}`, t);
    const got = await receiveAll(c, 10);
    assert.deepStrictEqual(got.map(m => m.body.toString()), [...Array(10).keys()].map(i => `f${i}`));
    assert.ok(got.every(m => m.messageGroup === 'order-1'));
    await c.shutdown();
  });

  await step('delay: not delivered before its delivery time', async () => {
    const t = `${topic}D`;
    const at = new Date(Date.now() + 3000);
    await producer.send({ topic: t, deliveryTimestamp: at, body: Buffer.from('later') });
    const c = await simpleConsumer(`GrpcG5${run}`, t);
    const got = await receiveAll(c, 1, { limitMs: 20000 });
    assert.strictEqual(got.length, 1);
    assert.ok(Date.now() >= at.getTime() - 100, `delivered ${at.getTime() - Date.now()} ms early`);
    await c.shutdown();
  });

  await step('transaction: commit delivered, rollback never', async () => {
    const t = `${topic}X`;
    const txp = new Producer({
      ...common, topic: [t], checker: { async check() { return 2; } },
    });
    await txp.startup();
    const commit = txp.beginTransaction();
    await txp.send({ topic: t, body: Buffer.from('committed') }, commit);
    await commit.commit();
    const rollback = txp.beginTransaction();
    await txp.send({ topic: t, body: Buffer.from('rolled-back') }, rollback);
    await rollback.rollback();
    const c = await simpleConsumer(`GrpcG6${run}`, t);
    const got = await receiveAll(c, 2, { limitMs: 5000 });
    assert.deepStrictEqual(got.map(m => m.body.toString()), ['committed']);
    await c.shutdown();
    await txp.shutdown();
  });

  await step('transaction check-back over Telemetry: the checker commits', async () => {
    const t = `${topic}K`;
    const checked = [];
    const txp = new Producer({
      ...common, topic: [t],
      checker: { async check(m) { checked.push(m.body.toString()); return 1; } },  // COMMIT
    });
    await txp.startup();
    const tx = txp.beginTransaction();
    await txp.send({ topic: t, body: Buffer.from('decided-by-check') }, tx);
    // Neither commit nor rollback: the broker asks the producer.
    const c = await simpleConsumer(`GrpcG8${run}`, t);
    const got = await receiveAll(c, 1, { limitMs: 30000 });
    assert.deepStrictEqual(got.map(m => m.body.toString()), ['decided-by-check']);
    assert.ok(checked.includes('decided-by-check'), 'the checker was asked');
    await c.shutdown();
    await txp.shutdown();
  });

  await step('PushConsumer consumes everything', async () => {
    const t = `${topic}P`;
    const want = new Set();
    for (let i = 0; i < 10; i++) {
      const r = await producer.send({ topic: t, body: Buffer.from(`p${i}`) });
      want.add(r.messageId);
    }
    const seen = new Set();
    const push = new PushConsumer({
      ...common, consumerGroup: `GrpcG7${run}`, longPollingTimeout: 3000,
      subscriptions: new Map([[t, new FilterExpression('*')]]),
      messageListener: { async consume(m) { seen.add(m.messageId); return ConsumeResult.SUCCESS; } },
    });
    await push.startup();
    const end = Date.now() + 30000;
    while (seen.size < want.size && Date.now() < end) await sleep(200);
    await push.shutdown();
    assert.deepStrictEqual([...seen].sort(), [...want].sort());
  });

  await producer.shutdown();
  if (cluster) await harness.stop(cluster);
  console.log('all passed');
}

main().then(() => process.exit(0), e => { console.error('FAILED:', e); process.exit(1); });
