'use strict';
// CONSUME_FROM_TIMESTAMP with ali-ons. A new group's start offset per queue is
//   searchOffset(queue, parseDate(consumeTimestamp))  ->  SEARCH_OFFSET_BY_TIMESTAMP (29)
// (lib/consumer/mq_push_consumer.js computePullFromWhere). consumeTimestamp is a local-time string
// yyyyMMddHHmmss (lib/utils parseDate / timeMillisToHumanString), so it has second precision: the time
// T used here is a whole second. 150 messages are sent, then the test waits until at least 1.1 s
// after the last acknowledgement has passed and T, the next whole second after that, is 100 ms
// behind, and sends 150 more. The store timestamps (read back with raw PULL_MESSAGE) must lie on the
// right side of T (test premise). A NEW group with CONSUME_FROM_TIMESTAMP and consumeTimestamp = T
// must receive exactly the 150 messages sent after T and none of the ones before.
// The gap is asymmetric (>= 1.1 s before T, ~100 ms after), so a broker that answers the first
// offset with store time >= T and one that answers the offset with the nearest store time (Java
// RocketMQ 4.x's ConsumeQueue.getOffsetInQueueByTime, when both neighbours exist) both give the
// exact boundary; every queue gets messages after T, so no queue depends on the "all older" case.

const { runTest, step, waitFor } = require('./lib/harness');
const cluster = require('./lib/cluster');
const rm = require('./lib/remoting');
const ons = require('./lib/ons');
const common = require('./lib/common');
const onsUtils = require('ali-ons/lib/utils');

const TOPIC = 'CompatTimestampTopic';
const GROUP = 'CID_RAMJET_COMPAT_TIMESTAMP';
const RAW_GROUP = 'CID_RAMJET_COMPAT_TIMESTAMP_RAW';
const QUEUES = 4;
const N_BEFORE = 150;
const N_AFTER = 150;
const N = N_BEFORE + N_AFTER;
const GAP_BEFORE_MS = 1100;
const GAP_AFTER_MS = 100;
const retryRouteNotYet = err => err.code === 17 && /%RETRY%/.test(err.message);

/** Every record of the topic read back with raw PULL_MESSAGE: Map(compat_idx -> record). */
async function readAll(brokerAddr, maxOffsets) {
  const out = new Map();
  for (let q = 0; q < QUEUES; q++) {
    for (let off = 0; off < maxOffsets[q];) {
      const r = await rm.pullMessage(brokerAddr, { group: RAW_GROUP, topic: TOPIC, queueId: q, offset: off, maxMsgNums: 32 });
      if (r.code !== rm.ResponseCode.SUCCESS || !r.records.length) {
        throw new Error(`raw pull ${TOPIC}/${q}@${off} answered code=${r.code} remark=${JSON.stringify(r.remark)} with ${r.records.length} records`);
      }
      for (const rec of r.records) out.set(Number(rec.properties[ons.IDX_PROP]), rec);
      off = r.records[r.records.length - 1].queueOffset + 1;
    }
  }
  return out;
}

runTest('timestamp', async t => {
  step('start name server and broker');
  const c = await cluster.startCluster();
  t.tempDir(c.dir);

  step(`create topic ${TOPIC} with ${QUEUES} queues`);
  await common.createTopicAndWait(t, c, TOPIC, QUEUES);

  step(`send ${N_BEFORE} messages, wait for the boundary T (a whole second), send ${N_AFTER} more`);
  const producer = await ons.makeProducer(c.nsAddr, { instanceName: 'compat-ts-producer' });
  t.cleanup(() => ons.closeClient(producer, 'producer'));
  const sent1 = await ons.sendMessages(producer, TOPIC, 0, N_BEFORE, { largeEvery: 0, concurrency: 4 });
  const lastAck = Date.now();
  const T = Math.ceil((lastAck + GAP_BEFORE_MS) / 1000) * 1000;
  await rm.sleep(Math.max(0, T + GAP_AFTER_MS - Date.now()));
  const resumeAt = Date.now();
  const sent2 = await ons.sendMessages(producer, TOPIC, N_BEFORE, N_AFTER, { largeEvery: 0, concurrency: 4 });
  const sent = { expected: new Map([ ...sent1.expected, ...sent2.expected ]), errors: [ ...sent1.errors, ...sent2.errors ] };
  const perQueue = ons.checkSendResults(t, `${N} messages`, sent, { queues: QUEUES });
  const tString = onsUtils.timeMillisToHumanString(T);
  t.check(onsUtils.parseDate(tString).getTime() === T, `consumeTimestamp "${tString}" is T = ${new Date(T).toISOString()} (${T}) exactly (ali-ons parses it as local time)`,
    { T, parsed: onsUtils.parseDate(tString).getTime() });
  t.note(`last acknowledgement before T: ${T - lastAck} ms before T; sending resumed ${resumeAt - T} ms after T`);

  const postQueues = new Set(Array.from(sent2.expected.values()).map(e => e.sendResult.queueId));
  t.check(postQueues.size === QUEUES, `test premise: every queue got messages after T (${JSON.stringify(Object.fromEntries(perQueue))} in all)`, [ ...postQueues ]);

  step('read the stored records back (raw PULL_MESSAGE): store timestamps on the right side of T');
  // Consume queues are built asynchronously after the send is acknowledged (slow under ASan):
  // wait (bounded) until every sent message is in its queue before taking the max offsets.
  let maxOffsets = await common.maxOffsets(c.brokerAddr, TOPIC, QUEUES);
  for (let i = 0; i < 200 && maxOffsets.reduce((a, b) => a + b, 0) < N; i++) {
    await new Promise(resolve => setTimeout(resolve, 50));
    maxOffsets = await common.maxOffsets(c.brokerAddr, TOPIC, QUEUES);
  }
  const stored = await readAll(c.brokerAddr, maxOffsets);
  t.check(stored.size === N, `the topic holds the ${N} messages (max offsets ${JSON.stringify(maxOffsets)})`, { stored: stored.size });
  const wrongSide = [];
  let lastBefore = -Infinity;
  let firstAfter = Infinity;
  for (const [ i, rec ] of stored) {
    if (i < N_BEFORE) lastBefore = Math.max(lastBefore, rec.storeTimestamp);
    else firstAfter = Math.min(firstAfter, rec.storeTimestamp);
    if ((i < N_BEFORE) !== (rec.storeTimestamp < T)) wrongSide.push(`#${i}: store timestamp ${rec.storeTimestamp} (T ${T})`);
  }
  t.check(wrongSide.length === 0, `test premise: messages #0..#${N_BEFORE - 1} were stored before T and #${N_BEFORE}..#${N - 1} at or after it ` +
    `(last before: T - ${T - lastBefore} ms, first after: T + ${firstAfter - T} ms)`, wrongSide.slice(0, 10));

  // The first offset after T per queue, from the send results.
  const firstAfterOffset = [];
  for (let q = 0; q < QUEUES; q++) {
    const offs = Array.from(sent2.expected.values()).filter(e => e.sendResult.queueId === q).map(e => e.sendResult.queueOffset);
    firstAfterOffset.push(Math.min(...offs));
  }
  const searched = [];
  for (let q = 0; q < QUEUES; q++) searched.push(await rm.searchOffsetByTimestamp(c.brokerAddr, TOPIC, q, T));
  t.check(JSON.stringify(searched) === JSON.stringify(firstAfterOffset),
    `raw SEARCH_OFFSET_BY_TIMESTAMP at T answers the offset of the first message after T in every queue (${JSON.stringify(searched)})`,
    { answered: searched, expected: firstAfterOffset });

  step(`new group ${GROUP}: CONSUME_FROM_TIMESTAMP, consumeTimestamp "${tString}"`);
  const tracker = new ons.Tracker(TOPIC);
  tracker.expect(sent);
  const consumer = await ons.makeConsumer(c.nsAddr, {
    group: GROUP,
    instanceName: 'compat-ts-c1',
    options: { consumeFromWhere: 'CONSUME_FROM_TIMESTAMP', consumeTimestamp: tString },
    isExpectedError: retryRouteNotYet,
  });
  t.cleanup(() => ons.closeClient(consumer, 'consumer'));
  const calls = ons.watchCalls(consumer, [ 'queryConsumerOffset', 'searchOffset' ], { withArgs: true });
  consumer.subscribe(TOPIC, '*', tracker.handler('compat-ts-c1'));
  const w = await common.waitDelivered(tracker, N_BEFORE, N, { timeoutMs: 30000, stallMs: 15000 });
  let committed;
  const caughtUp = await waitFor(async () => {
    committed = await common.committedOffsets(c.brokerAddr, GROUP, TOPIC, QUEUES);
    return JSON.stringify(committed) === JSON.stringify(maxOffsets);
  }, { timeoutMs: 15000, intervalMs: 500 });
  await rm.sleep(1500); // a late delivery would show up here
  tracker.finalizeCompare();

  // ali-ons uses CONSUME_FROM_TIMESTAMP only for a queue whose QUERY_CONSUMER_OFFSET fails (readOffset
  // -1, e.g. QUERY_NOT_FOUND); an answered offset (>= 0) is used as it is.
  const queries = [];
  for (const r of calls) {
    // first answer per queue (ali-ons may ask twice: two rebalance passes at start)
    if (r.method === 'queryConsumerOffset' && r.args[1] && r.args[1].topic === TOPIC && !queries.some(x => x.args[1].queueId === r.args[1].queueId)) queries.push(r);
  }
  const queryText = queries.map(r => `q${r.args[1].queueId} -> ${r.ok ? `SUCCESS offset ${r.result}` : `code=${r.code} ${JSON.stringify(r.message)}`}`).join(', ');
  t.note(`ali-ons QUERY_CONSUMER_OFFSET for the new group on ${TOPIC}: ${queryText || 'none'}`);
  const topicSearches = calls.filter(r => r.method === 'searchOffset' && String(r.args[0]).includes(`"${TOPIC}"`));
  t.note(`ali-ons SEARCH_OFFSET_BY_TIMESTAMP calls for ${TOPIC}: ${topicSearches.map(r => `${String(r.args[0]).replace(/.*queueId="(\d+)".*/, 'q$1')} @${r.args[1]} -> ${r.ok ? r.result : `code=${r.code} ${r.message}`}`).join(', ') || 'none'}`);
  const answered = queries.filter(r => r.ok);
  const searchedQueues = new Set(topicSearches.map(r => String(r.args[0]).replace(/.*queueId="(\d+)".*/, '$1')));
  t.check(searchedQueues.size === QUEUES && topicSearches.every(r => r.ok && r.args[1] === T),
    `ali-ons asked the broker for the offset at T (${T}) for every queue (it may ask twice: two rebalance passes at start), and every answer was SUCCESS`,
    topicSearches.length ? topicSearches : `no SEARCH_OFFSET_BY_TIMESTAMP was sent: the broker answered QUERY_CONSUMER_OFFSET of the new group with an offset ` +
      `(${answered.map(r => `q${r.args[1].queueId}: ${r.result}`).join(', ')}) instead of QUERY_NOT_FOUND, and ali-ons starts from an answered offset`);
  t.check(w.missing.length === 0, `every message sent after T was delivered (${N_AFTER})`,
    w.missing.length ? `${w.reason}: ${tracker.describeMissing(w.missing)}` : undefined);
  const before = [];
  for (let i = 0; i < N_BEFORE; i++) if (tracker.deliveries.has(i)) before.push(i);
  t.check(before.length === 0, `no message sent before T was delivered (of ${N_BEFORE})`,
    `${before.length} delivered: ${before.slice(0, 20).map(i => `#${i} (q${tracker.expected.get(i).sendResult.queueId}@${tracker.expected.get(i).sendResult.queueOffset}, stored T - ${T - stored.get(i).storeTimestamp} ms)`).join(' ')}`);
  t.check(!!caughtUp, 'the committed offsets of the group reach the max offsets', { committed, maxOffsets });
  t.check(tracker.mismatchCount === 0, 'every delivered message matches what was sent (body, tags, keys, user property, queue, offset, msgId)',
    `${tracker.mismatchCount} mismatches, first: ${tracker.mismatches.slice(0, 5).join('\n    ')}`);
  const dup = tracker.duplicates(0, N);
  t.check(dup.redelivered === 0 && dup.stored === 0, 'no message delivered twice', dup);
  t.check(tracker.total === N_AFTER, `exactly ${N_AFTER} deliveries in all (${tracker.total})`);

  step('shut down');
  await ons.closeClient(consumer, 'consumer');
  await ons.closeClient(producer, 'producer');
  await common.stopChecked(t, c.broker, 'broker');
  await common.stopChecked(t, c.namesrv, 'name server');
  ons.printProblemSummary();
}, { timeoutMs: 120000 });
