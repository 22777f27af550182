'use strict';
// Large and mixed-size messages in one queue, consumed by ali-ons. Bodies are random bytes, so
// ali-ons's zlib compression (bodies >= 4 KiB) cannot shrink them: a pull whose batch is full by
// bytes after its first message must return what it has (RocketMQ returns at least one message),
// never stall. Before the fix, 100 random 10 KiB bodies were never consumed, a 1 KiB message
// followed by a 300 KiB one was never delivered, and each such pull pinned a broker thread.

const crypto = require('crypto');
const { Message } = require('ali-ons');
const { runTest, step, waitFor } = require('./lib/harness');
const cluster = require('./lib/cluster');
const ons = require('./lib/ons');
const common = require('./lib/common');

const TOPIC = 'CompatLargeTopic';
const GROUP = 'CID_RAMJET_COMPAT_LARGE';
const KiB = 1024;
const MiB = 1024 * KiB;

/** The sizes, in send order, all into queue 0. */
function plan() {
  const sizes = [];
  for (let i = 0; i < 100; i++) sizes.push(10 * KiB); // 100 random 10 KiB bodies
  sizes.push(1 * KiB, 300 * KiB); // a small one followed by one larger than a pull batch
  sizes.push(150 * KiB, 150 * KiB); // two that do not fit one 256 KiB batch together
  // 8 KiB .. 4 MiB, each between small ones. zlib makes random data a little longer, and
  // maxMessageSize (4 MiB) applies to the compressed body, so the largest is 4 MiB - 16 KiB.
  for (const n of [ 8 * KiB, 64 * KiB, 1 * MiB, 4 * MiB - 16 * KiB ]) sizes.push(100, n, 100);
  return sizes;
}

const sha = b => crypto.createHash('sha256').update(b).digest('hex');

runTest('large', async t => {
  step('start name server and broker');
  const c = await cluster.startCluster();
  t.tempDir(c.dir);
  step(`create topic ${TOPIC} with 1 queue`);
  await common.createTopicAndWait(t, c, TOPIC, 1);

  const sizes = plan();
  const bodies = sizes.map(n => crypto.randomBytes(n));
  const received = new Map(); // index -> [{sha, queueOffset}]
  const consumer = await ons.makeConsumer(c.nsAddr, { group: GROUP, instanceName: 'compat-large' });
  t.cleanup(() => ons.closeClient(consumer, 'consumer'));
  consumer.subscribe(TOPIC, '*', async msg => {
    const i = Number(msg.properties.compat_idx);
    if (!received.has(i)) received.set(i, []);
    received.get(i).push({ sha: sha(msg.body), queueOffset: Number(msg.queueOffset) });
  });

  step(`send ${sizes.length} messages with random bodies (${sizes.reduce((a, b) => a + b, 0)} bytes)`);
  const producer = await ons.makeProducer(c.nsAddr, { instanceName: 'compat-large-producer' });
  t.cleanup(() => ons.closeClient(producer, 'producer'));
  const offsets = [];
  for (let i = 0; i < bodies.length; i++) {
    const msg = new Message(TOPIC, 'TagL', Buffer.from(bodies[i]));
    msg.properties.compat_idx = String(i);
    const r = await producer.send(msg);
    t.check(r.sendStatus === 'SEND_OK', `send #${i} (${sizes[i]} bytes) is SEND_OK`, r.sendStatus);
    offsets.push(Number(r.queueOffset));
  }
  t.check(offsets.every((o, i) => o === i), 'the messages take queue offsets 0..n-1 in send order',
    offsets.join(','));

  step('the consumer receives every message, unchanged');
  await waitFor(() => received.size === bodies.length, { timeoutMs: 90000, intervalMs: 250 });
  const missing = [];
  const wrong = [];
  for (let i = 0; i < bodies.length; i++) {
    const got = received.get(i);
    if (!got) {
      missing.push(`#${i} (${sizes[i]} bytes)`);
      continue;
    }
    if (!got.every(g => g.sha === sha(bodies[i]) && g.queueOffset === i)) wrong.push(`#${i}`);
  }
  t.check(missing.length === 0, `all ${bodies.length} messages (8 KiB .. 4 MiB, mixed) were consumed`,
    `${missing.length} missing: ${missing.slice(0, 20).join(' ')}`);
  t.check(wrong.length === 0, 'every body and queue offset is as sent', wrong.slice(0, 20).join(' '));
  const committed = await waitFor(async () => {
    const o = await common.committedOffsets(c.brokerAddr, GROUP, TOPIC, 1);
    return o[0] === bodies.length ? o : null;
  }, { timeoutMs: 20000, intervalMs: 500 });
  t.check(!!committed, `the committed offset reaches ${bodies.length}`);

  step('shut down');
  await ons.closeClient(consumer, 'consumer');
  await ons.closeClient(producer, 'producer');
  await common.stopChecked(t, c.broker, 'broker');
  await common.stopChecked(t, c.namesrv, 'name server');
  ons.printProblemSummary();
}, { timeoutMs: 240000 });
