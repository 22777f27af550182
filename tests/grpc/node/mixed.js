// One broker, two protocols: messages sent by ali-ons (the 4.x remoting wire; some bodies
// compressed) are received by Apache's Node.js 5.x gRPC client with their tags, keys, user
// properties and bodies; messages sent over gRPC are consumed by an ali-ons push consumer with
// the same. The topics are created by the gRPC clients' route queries.
//   RAMJET_BIN_DIR=build/apps node mixed.js
'use strict';
const assert = require('node:assert');
const { Producer, SimpleConsumer, FilterExpression } = require('rocketmq-client-nodejs');
const ons = require('../../compat/lib/ons');
const harness = require('./harness');

const quiet = { info() {}, warn() {}, error(...a) { if (process.env.DEBUG) console.error(...a); }, debug() {} };
const sleep = ms => new Promise(r => setTimeout(r, ms));

async function main() {
  const cluster = await harness.start();
  const common = { endpoints: cluster.grpc, namespace: '', logger: quiet, requestTimeout: 5000 };
  const run = process.pid;

  // remoting -> gRPC
  const t1 = `MixR2G${run}`;
  // ali-ons does not create topics: a gRPC client's route query does, and the broker then
  // registers it with the name server (asynchronously).
  const creator = new Producer({ ...common, topic: [t1] });
  await creator.startup();
  await creator.shutdown();
  const onsProducer = await ons.makeProducer(cluster.nsAddr, { instanceName: 'mix-producer' });
  const sent = new Map();
  for (let i = 0; i < 260; i++) {  // message 7 and 257 are > 4 KiB: sent zlib-compressed
    const { msg, expected } = ons.makeMessage(t1, i);
    for (let attempt = 0; ; attempt++) {
      try {
        await onsProducer.send(msg);
        break;
      } catch (e) {
        if (attempt >= 50 || !/route info/.test(e.message)) throw e;
        await sleep(200);  // the route is not at the name server yet
      }
    }
    sent.set(i, expected);
  }
  const consumer = new SimpleConsumer({
    ...common, consumerGroup: `MixG1${run}`, awaitDuration: 1000,
    subscriptions: new Map([[t1, new FilterExpression('*')]]),
  });
  await consumer.startup();
  const end = Date.now() + 60000;
  let received = 0;
  while (sent.size > 0 && Date.now() < end) {
    for (const m of await consumer.receive(32, 15000)) {
      const i = Number(m.properties.get(ons.IDX_PROP));
      const e = sent.get(i);
      assert.ok(e, `unexpected or duplicate message ${i}`);
      assert.ok(m.body.equals(e.body), `body of ${i}`);
      assert.strictEqual(m.tag, e.tags);
      assert.deepStrictEqual(m.keys, [e.keys]);
      assert.strictEqual(m.properties.get(ons.USER_PROP), e.user);
      assert.ok(!m.corrupted);
      sent.delete(i);
      received++;
      await consumer.ack(m);
    }
  }
  assert.strictEqual(sent.size, 0, `${sent.size} remoting messages not received over gRPC`);
  console.log(`ok   ${received} messages sent by ali-ons received over gRPC (2 compressed)`);
  await consumer.shutdown();

  // gRPC -> remoting
  const t2 = `MixG2R${run}`;
  const producer = new Producer({ ...common, topic: [t2] });
  await producer.startup();  // its route query creates the topic
  const got = new Map();
  const onsConsumer = await ons.makeConsumer(cluster.nsAddr, { group: `MixG2${run}`, instanceName: 'mix-consumer' });
  onsConsumer.subscribe(t2, '*', async msg => {
    got.set(msg.properties.seq, msg);
  });
  for (let i = 0; i < 20; i++) {
    await producer.send({
      topic: t2, tag: 'FromGrpc', keys: [`gk${i}`], body: Buffer.from(`grpc-${i}`),
      properties: new Map([['seq', `${i}`]]),
    });
  }
  const end2 = Date.now() + 60000;
  while (got.size < 20 && Date.now() < end2) await sleep(100);
  assert.strictEqual(got.size, 20, `ali-ons received ${got.size} of 20`);
  for (const [seq, msg] of got) {
    assert.strictEqual(Buffer.from(msg.body).toString(), `grpc-${seq}`);
    assert.strictEqual(msg.tags, 'FromGrpc');
    assert.strictEqual([].concat(msg.keys).join(' '), `gk${seq}`);
  }
  console.log('ok   20 messages sent over gRPC consumed by ali-ons');
  await ons.closeClient(onsConsumer, 'consumer');
  await ons.closeClient(onsProducer, 'producer');
  await producer.shutdown();
  await harness.stop(cluster);
  console.log('all passed');
}

main().then(() => process.exit(0), e => { console.error('FAILED:', e); process.exit(1); });
