'use strict';
// ali-ons broadcasting consumers: every consumer of the group receives every message.

const { runTest, step } = require('./lib/harness');
const cluster = require('./lib/cluster');
const ons = require('./lib/ons');
const common = require('./lib/common');
const { waitFor } = require('./lib/harness');

const TOPIC = 'CompatBroadcastTopic';
const GROUP = 'CID_RAMJET_COMPAT_BROADCAST';
const QUEUES = 8;
const N = Number(process.env.COMPAT_MESSAGES || 2000);
const NAMES = [ 'compat-b1', 'compat-b2' ];

runTest('broadcast', async t => {
  step('start name server and broker');
  const c = await cluster.startCluster();
  t.tempDir(c.dir);

  step(`create topic ${TOPIC} with ${QUEUES} queues`);
  await common.createTopicAndWait(t, c, TOPIC, QUEUES);

  step(`2 broadcasting consumers (group ${GROUP})`);
  // One tracker per consumer: each of them must see every message.
  const trackers = NAMES.map(() => new ons.Tracker(TOPIC));
  const producer = await ons.makeProducer(c.nsAddr, { instanceName: 'compat-producer' });
  t.cleanup(() => ons.closeClient(producer, 'producer'));
  let consumers = await Promise.all(NAMES.map(async (name, k) => {
    const consumer = await ons.makeConsumer(c.nsAddr, { group: GROUP, instanceName: name, isBroadcast: true });
    consumer.subscribe(TOPIC, '*', trackers[k].handler(name));
    return consumer;
  }));
  t.cleanup(() => common.closeAll(consumers, 'consumer'));
  const ids = consumers.map(ons.clientId);
  t.check(ids[0] !== ids[1], `the two consumers have distinct client ids (${ids.join(', ')})`);
  const all = await waitFor(() => consumers.every(x => ons.assignedQueues(x, TOPIC).length === QUEUES),
    { timeoutMs: 20000, intervalMs: 250 });
  t.check(!!all, `each broadcasting consumer pulls all ${QUEUES} queues`,
    consumers.map(x => `${x.compatName}=[${ons.assignedQueues(x, TOPIC)}]`).join(' '));

  step(`send ${N} messages`);
  const sent = await ons.sendMessages(producer, TOPIC, 0, N, { tracker: null });
  ons.checkSendResults(t, `${N} messages`, sent, { queues: QUEUES });
  for (const tr of trackers) tr.expect(sent);

  for (let k = 0; k < NAMES.length; k++) {
    const tr = trackers[k];
    const w = await common.waitDelivered(tr, 0, N, { timeoutMs: 120000, stallMs: 30000 });
    tr.finalizeCompare();
    t.check(w.missing.length === 0, `${NAMES[k]} received every message (${sent.expected.size})`,
      w.missing.length ? `${w.reason}: ${tr.describeMissing(w.missing)}` : undefined);
    t.check(tr.mismatchCount === 0, `${NAMES[k]}: every delivered message matches what was sent`,
      `${tr.mismatchCount} mismatches, first: ${tr.mismatches.slice(0, 10).join('\n    ')}`);
    const dup = tr.duplicates(0, N);
    t.check(dup.redelivered === 0, `${NAMES[k]}: no message delivered twice (broadcast has no rebalance hand-over)`,
      `${dup.redelivered} redeliveries; e.g. ${dup.examples.join(' | ')}`);
  }

  step('shut down');
  await common.closeAll(consumers, 'consumer');
  consumers = [];
  await ons.closeClient(producer, 'producer');
  await common.stopChecked(t, c.broker, 'broker');
  await common.stopChecked(t, c.namesrv, 'name server');
  ons.printProblemSummary();
}, { timeoutMs: 300000 });
