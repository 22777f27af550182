'use strict';
// Per-key order with ali-ons sharding keys across a clean broker restart and a consumer joining.
//
// ali-ons (lib/producer/topic_publish_info.js) sends a message with msg.shardingKey (property
// __SHARDING_KEY) to queueIds[md5(key).readUInt32BE(0) % queueIds.length]; so all messages of a key go
// to one queue. (Its `queueIds[i] || ''` makes a key that maps to queue 0 go round-robin instead;
// the keys used here map to queues 6, 3, 4 and 5 of 8, and the test checks that.)
//
// 4 keys x 10,000 messages on a topic with 8 queues; one sender per key, so the keys interleave,
// each sending its sequence numbers 0..9999 in order and retrying a failed send of the same number
// until it succeeds. When every key has sent about half, the broker is stopped cleanly and restarted
// on the same store and port while the senders keep going (they fail and retry until it is back).
// A clustering consumer (parallelConsumeLimit 1: ali-ons consumes one message at a time) runs from
// the start; a second consumer of the same group joins after a quarter of the messages were received.
// ali-ons has no queue locks, so a rebalance may re-deliver a tail of a queue: re-deliveries of
// already-seen numbers are allowed and reported. For every key, all 10,000 numbers must arrive and
// the first delivery of each number must come in increasing order (0, 1, 2, ...): a number that is
// first seen after a larger one (a gap jumped and filled later) is a failure.

const crypto = require('crypto');
const { runTest, step, waitFor } = require('./lib/harness');
const cluster = require('./lib/cluster');
const rm = require('./lib/remoting');
const ons = require('./lib/ons');
const common = require('./lib/common');

const TOPIC = 'CompatOrderTopic';
const GROUP = 'CID_RAMJET_COMPAT_ORDER';
const QUEUES = 8;
const KEYS = [ 'key-0', 'key-1', 'key-2', 'key-3' ];
const PER_KEY = Number(process.env.COMPAT_ORDER_PER_KEY || 10000);
const TOTAL = KEYS.length * PER_KEY;
const RESTART_AT = Math.floor(PER_KEY / 2); // per key
const JOIN_AT = Math.floor(TOTAL / 4); // deliveries received
const RETRY_SLEEP_MS = 100;
const SEND_DEADLINE_MS = 90000;
const DELIVERY_TIMEOUT_MS = 100000; // from the first send
const CONSUMER_OPTIONS = {
  parallelConsumeLimit: 1,
  pollNameServerInteval: 1000,
  heartbeatBrokerInterval: 1000,
  pullTimeDelayMillsWhenException: 1000,
};
const PRODUCER_OPTIONS = { pollNameServerInteval: 1000, sendMsgTimeout: 3000 };

/** The queue ali-ons picks for a sharding key (queue ids 0..n-1). */
function shardQueue(key, n) {
  return crypto.createHash('md5').update(key).digest().readUInt32BE() % n;
}

/** Delivery bookkeeping per key, in arrival order (both consumers run in this process). */
class OrderTracker {
  constructor() {
    this.keys = KEYS.map(key => ({
      key,
      firstMsgId: new Array(PER_KEY).fill(null), // msgId of the first delivery of each number
      distinct: 0,
      maxFirst: -1, // largest number delivered so far
      redelivered: 0, // deliveries of a number already seen (same stored message)
      storedTwice: 0, // ... of a different stored message (the producer's retry stored it again)
      disorder: [], // first deliveries that were not maxFirst + 1
      disorderCount: 0,
      queues: new Map(),
      byConsumer: {},
    }));
    this.total = 0;
    this.foreign = [];
    this.lastAt = 0;
    this.byConsumer = {};
    this.redeliveredBy = {}; // "<consumer> <phase>" -> re-deliveries
    this.phaseOf = () => '';
  }

  handler(name) {
    return async msg => {
      this.total++;
      this.lastAt = Date.now();
      this.byConsumer[name] = (this.byConsumer[name] || 0) + 1;
      const text = msg.body ? Buffer.from(msg.body).toString('utf8') : '';
      const m = /^(key-\d+)\|(\d+)$/.exec(text);
      const k = m ? KEYS.indexOf(m[1]) : -1;
      const seq = m ? Number(m[2]) : -1;
      if (k < 0 || seq < 0 || seq >= PER_KEY || msg.shardingKey !== m[1]) {
        if (this.foreign.length < 10) this.foreign.push(`${name}: msgId=${msg.msgId} q${msg.queueId}@${msg.queueOffset} body=${JSON.stringify(text.slice(0, 60))} shardingKey=${JSON.stringify(msg.shardingKey)}`);
        return;
      }
      const s = this.keys[k];
      const q = Number(msg.queueId);
      s.queues.set(q, (s.queues.get(q) || 0) + 1);
      s.byConsumer[name] = (s.byConsumer[name] || 0) + 1;
      if (s.firstMsgId[seq] !== null) {
        s.redelivered++;
        const phase = this.phaseOf();
        this.redeliveredBy[`${name} ${phase}`] = (this.redeliveredBy[`${name} ${phase}`] || 0) + 1;
        if (s.firstMsgId[seq] !== msg.msgId) s.storedTwice++;
        return;
      }
      if (seq !== s.maxFirst + 1) {
        s.disorderCount++;
        if (s.disorder.length < 10) {
          s.disorder.push(`${name} q${q}@${msg.queueOffset}: first delivery of ${s.key} #${seq} came after #${s.maxFirst} ` +
            `(${seq > s.maxFirst ? `jumped over ${seq - s.maxFirst - 1}` : 'fills a gap left earlier'})`);
        }
      }
      s.firstMsgId[seq] = msg.msgId;
      s.distinct++;
      if (seq > s.maxFirst) s.maxFirst = seq;
    };
  }

  get distinct() {
    return this.keys.reduce((n, s) => n + s.distinct, 0);
  }
}

runTest('order', async t => {
  const t0 = Date.now();
  step('start name server and broker');
  const c = await cluster.startCluster();
  t.tempDir(c.dir);

  step(`create topic ${TOPIC} with ${QUEUES} queues`);
  await common.createTopicAndWait(t, c, TOPIC, QUEUES);
  const expectQueue = KEYS.map(k => shardQueue(k, QUEUES));
  t.note(`ali-ons puts ${KEYS.map((k, i) => `${k} -> queue ${expectQueue[i]}`).join(', ')}`);
  if (expectQueue.includes(0)) t.note('a key maps to queue 0: ali-ons will not pin it (queueIds[i] || \'\')');

  step(`consumer 1 (group ${GROUP}, parallelConsumeLimit 1), then ${KEYS.length} x ${PER_KEY} messages; broker restart after ~${RESTART_AT} per key`);
  const tracker = new OrderTracker();
  const producer = await ons.makeProducer(c.nsAddr, { instanceName: 'compat-order-producer', options: PRODUCER_OPTIONS });
  t.cleanup(() => ons.closeClient(producer, 'producer'));
  const consumers = [];
  t.cleanup(() => common.closeAll(consumers, 'consumer'));
  const startConsumer = async name => {
    const consumer = await ons.makeConsumer(c.nsAddr, {
      group: GROUP,
      instanceName: name,
      options: CONSUMER_OPTIONS,
      // broker restart: failed pulls, heartbeats and rebalances; a new group's %RETRY% route
      isExpectedError: err => err.code === 17 || /ECONNREFUSED|closed|socket|connect|no consumer for this group|timeout/i.test(err.message),
    });
    consumer.subscribe(TOPIC, '*', tracker.handler(name));
    consumers.push(consumer);
    return consumer;
  };
  await startConsumer('compat-order-c1');
  await waitFor(() => ons.assignedQueues(consumers[0], TOPIC).length === QUEUES, { timeoutMs: 20000, intervalMs: 200 });
  t.check(ons.assignedQueues(consumers[0], TOPIC).length === QUEUES, `consumer 1 pulls all ${QUEUES} queues`);

  // --- senders: one per key, in sequence order, retrying the same number until it is stored ---
  const progress = KEYS.map(() => 0); // numbers sent successfully per key
  const sendResults = KEYS.map(() => []); // per key: queueId of each successful send
  const sendErrors = []; // distinct error texts (first few) of failed attempts
  const errorKinds = new Map();
  let retries = 0;
  let lastFailAt = 0;
  let firstOkAfterRestart = null;
  let restartDoneAt = null;
  const sendStart = Date.now();
  const sendDeadline = sendStart + SEND_DEADLINE_MS;
  const sender = async k => {
    const key = KEYS[k];
    for (let seq = 0; seq < PER_KEY; seq++) {
      for (;;) {
        const msg = new ons.Message(TOPIC, 'order', Buffer.from(`${key}|${seq}`, 'utf8'));
        msg.shardingKey = key;
        msg.keys = [ `${key}-${seq}` ];
        try {
          const r = await producer.send(msg);
          if (r.sendStatus !== 'SEND_OK') throw new Error(`sendStatus ${r.sendStatus}`);
          sendResults[k].push(Number(r.messageQueue.queueId));
          if (restartDoneAt && !firstOkAfterRestart) firstOkAfterRestart = Date.now();
          break;
        } catch (err) {
          retries++;
          lastFailAt = Date.now();
          const kind = `${err.name}: ${String(err.message).replace(/\d+/g, 'N').slice(0, 160)}`;
          errorKinds.set(kind, (errorKinds.get(kind) || 0) + 1);
          if (sendErrors.length < 5) sendErrors.push(`${key} #${seq}: ${err.name}: ${err.message}`);
          if (Date.now() > sendDeadline) throw new Error(`${key} #${seq}: still failing after ${SEND_DEADLINE_MS} ms of sending: ${err.message}`);
          await rm.sleep(RETRY_SLEEP_MS);
        }
      }
      progress[k] = seq + 1;
    }
  };

  // --- the broker restart, once every key has sent about half ---
  const restartInfo = {};
  let joinInfo = null;
  tracker.phaseOf = () => (restartInfo.stopAt ? 'after-restart' : joinInfo ? 'after-join' : 'before-join');
  const restarter = (async () => {
    const ok = await waitFor(() => progress.every(p => p >= RESTART_AT), { timeoutMs: SEND_DEADLINE_MS, intervalMs: 10 });
    if (!ok) throw new Error(`the senders did not reach ${RESTART_AT} per key within ${SEND_DEADLINE_MS} ms (progress ${progress})`);
    restartInfo.progress = progress.slice();
    restartInfo.received = tracker.distinct;
    restartInfo.stopAt = Date.now();
    restartInfo.stopRel = (restartInfo.stopAt - sendStart) / 1000;
    step(`stop the broker (senders at ${progress.join('/')}, ${tracker.distinct} received) and restart it on the same store and port`);
    await common.stopChecked(t, c.broker, 'broker');
    await cluster.restartBroker(c);
    restartDoneAt = Date.now();
    restartInfo.backRel = (restartDoneAt - sendStart) / 1000;
    restartInfo.downMs = restartDoneAt - restartInfo.stopAt;
    console.error(`[order] broker back after ${restartInfo.downMs} ms`);
  })();

  // --- the second consumer, once a quarter was received ---
  const joiner = (async () => {
    const ok = await waitFor(() => tracker.distinct >= JOIN_AT, { timeoutMs: DELIVERY_TIMEOUT_MS, intervalMs: 20 });
    if (!ok) return;
    joinInfo = { at: Date.now(), received: tracker.distinct, sent: progress.reduce((a, b) => a + b, 0), during: restartInfo.stopAt && !restartDoneAt };
    step(`consumer 2 joins (${joinInfo.received} received, ${joinInfo.sent} sent)`);
    await startConsumer('compat-order-c2');
    joinInfo.balanced = await waitFor(() => {
      const a = consumers.map(x => ons.assignedQueues(x, TOPIC));
      const all = [].concat(...a);
      return a.every(q => q.length > 0) && all.length === QUEUES && new Set(all).size === QUEUES ? a : null;
    }, { timeoutMs: 30000, intervalMs: 100 });
    joinInfo.balancedMs = Date.now() - joinInfo.at;
  })();

  // --- queue assignment history (sampled every 50 ms) ---
  const assignHistory = [];
  const lastAssign = new Map();
  const sampler = setInterval(() => {
    for (const x of consumers) {
      const a = ons.assignedQueues(x, TOPIC).join(',');
      if (lastAssign.get(x.compatName) !== a) {
        lastAssign.set(x.compatName, a);
        assignHistory.push(`+${((Date.now() - sendStart) / 1000).toFixed(2)}s ${x.compatName}=[${a}] (${tracker.phaseOf()})`);
      }
    }
  }, 50);
  t.cleanup(() => clearInterval(sampler));

  const senders = KEYS.map((_, k) => sender(k));
  const sendOutcome = await Promise.all(senders).then(() => null, err => err);
  const sendSecs = (Date.now() - sendStart) / 1000;
  await restarter.catch(err => t.check(false, 'broker restart mid-way', err.message));
  console.error(`  sent ${progress.reduce((a, b) => a + b, 0)}/${TOTAL} in ${sendSecs.toFixed(1)} s, ${retries} failed attempts retried`);
  t.check(!sendOutcome, `every key sent all ${PER_KEY} numbers in order (failed sends retried with the same number)`, sendOutcome && sendOutcome.message);
  t.check(retries > 0, `the producer saw failed sends during the restart and retried them (${retries} retries)`, 'no send failed: the restart was not exercised');
  t.note(`send failures by kind: ${JSON.stringify(Object.fromEntries(errorKinds))}`);
  if (sendErrors.length) t.note(`first send failures: ${sendErrors.join(' | ')}`);
  if (firstOkAfterRestart) t.note(`first successful send ${firstOkAfterRestart - restartDoneAt} ms after the broker was back (last failure ${lastFailAt - restartDoneAt} ms after)`);
  const badQueues = [];
  KEYS.forEach((key, k) => {
    const qs = new Set(sendResults[k]);
    if (qs.size !== 1 || !qs.has(expectQueue[k])) badQueues.push(`${key}: queues ${JSON.stringify([ ...qs ])}, expected ${expectQueue[k]}`);
  });
  t.check(badQueues.length === 0, `every key was sent to its own single queue (${KEYS.map((k, i) => `${k}: ${expectQueue[i]}`).join(', ')})`, badQueues);

  // --- wait for all deliveries ---
  step('wait for every number of every key');
  let lastTotal = -1;
  let lastProgress = Date.now();
  let lastPrint = 0;
  let reason = null;
  for (;;) {
    if (tracker.distinct >= TOTAL) break;
    if (tracker.total !== lastTotal) {
      lastTotal = tracker.total;
      lastProgress = Date.now();
    }
    if (Date.now() - lastPrint > 5000) {
      lastPrint = Date.now();
      console.error(`  ... ${tracker.distinct}/${TOTAL} distinct received, ${tracker.total} deliveries`);
    }
    if (Date.now() - sendStart > DELIVERY_TIMEOUT_MS) { reason = `not all received within ${DELIVERY_TIMEOUT_MS} ms of the first send`; break; }
    if (Date.now() - lastProgress > 30000) { reason = 'no delivery at all for 30000 ms'; break; }
    await rm.sleep(100);
  }
  const recvSecs = (Date.now() - sendStart) / 1000;
  await joiner;
  await rm.sleep(2000); // late re-deliveries would show up here

  // --- checks ---
  step('checks');
  const missingPerKey = tracker.keys.map(s => {
    const miss = [];
    for (let i = 0; i < PER_KEY; i++) if (s.firstMsgId[i] === null) miss.push(i);
    return miss;
  });
  t.check(missingPerKey.every(m => m.length === 0), `every key: all ${PER_KEY} numbers were received (${tracker.distinct}/${TOTAL} in ${recvSecs.toFixed(1)} s)`,
    `${reason || ''}; ${tracker.keys.map((s, k) => `${s.key}: ${missingPerKey[k].length} missing${missingPerKey[k].length ? ` (first ${missingPerKey[k].slice(0, 8).join(',')}; max first-seen ${s.maxFirst})` : ''}`).join('; ')}`);
  const disorder = tracker.keys.filter(s => s.disorderCount > 0);
  t.check(disorder.length === 0, 'every key: the first delivery of each number came in increasing order (no number skipped and delivered later)',
    disorder.map(s => `${s.key}: ${s.disorderCount} out-of-order first deliveries, first: ${s.disorder.join('; ')}`).join('\n    '));
  t.check(tracker.foreign.length === 0, 'no unexpected message (every body is "<key>|<number>" with a matching shardingKey)', tracker.foreign);
  const wrongQueue = tracker.keys.filter((s, k) => s.queues.size !== 1 || !s.queues.has(expectQueue[k]));
  t.check(wrongQueue.length === 0, 'every key was delivered from its own queue only',
    wrongQueue.map(s => `${s.key}: ${JSON.stringify(Object.fromEntries(s.queues))}`));
  t.check(!!joinInfo && !!joinInfo.balanced, `consumer 2 joined after ${JOIN_AT} deliveries and the two consumers split the ${QUEUES} queues`,
    joinInfo ? { joinInfo, assigned: consumers.map(x => ons.assignedQueues(x, TOPIC)) } : 'consumer 2 never joined');
  const c2got = tracker.byConsumer['compat-order-c2'] || 0;
  t.check(c2got > 0, `consumer 2 received messages after joining (${c2got})`, tracker.byConsumer);

  const redelivered = tracker.keys.reduce((n, s) => n + s.redelivered, 0);
  const storedTwice = tracker.keys.reduce((n, s) => n + s.storedTwice, 0);
  const maxOffsets = await common.maxOffsets(c.brokerAddr, TOPIC, QUEUES);
  const storedTotal = maxOffsets.reduce((a, b) => a + b, 0);
  t.note(`max offsets per queue ${JSON.stringify(maxOffsets)}: ${storedTotal} stored for ${TOTAL} numbers (${storedTotal - TOTAL} stored twice: a failed send that had been stored before the retry)`);
  t.note(`deliveries ${tracker.total}, re-deliveries of already-seen numbers ${redelivered} (${storedTwice} of them a second stored copy), ` +
    `per key ${tracker.keys.map(s => `${s.key}=${s.redelivered}`).join(' ')}; by consumer and phase ${JSON.stringify(tracker.redeliveredBy)}; ` +
    `deliveries per consumer ${JSON.stringify(tracker.byConsumer)}`);
  if (joinInfo) {
    t.note(`consumer 2 joined at ${joinInfo.received} received / ${joinInfo.sent} sent${joinInfo.during ? ' (during the broker restart)' : ''}; ` +
      `queues split after ${joinInfo.balancedMs} ms: ${consumers.map(x => `${x.compatName}=[${ons.assignedQueues(x, TOPIC)}]`).join(' ')}`);
  }
  clearInterval(sampler);
  t.note(`queue assignment changes (seconds after the first send): ${assignHistory.join('; ')}`);
  t.note(`broker restart at ${restartInfo.progress ? restartInfo.progress.join('/') : '?'} sent per key, ${restartInfo.received} received; down ${restartInfo.downMs} ms (+${restartInfo.stopRel}s .. +${restartInfo.backRel}s)`);
  console.log(`ORDER order keys=${KEYS.length} perKey=${PER_KEY} sendSecs=${sendSecs.toFixed(1)} recvSecs=${recvSecs.toFixed(1)} retries=${retries} ` +
    `redelivered=${redelivered} storedTwice=${storedTwice} restartDownMs=${restartInfo.downMs} total=${((Date.now() - t0) / 1000).toFixed(1)}s`);

  step('shut down');
  await common.closeAll(consumers, 'consumer');
  await ons.closeClient(producer, 'producer');
  await common.stopChecked(t, c.broker, 'broker');
  await common.stopChecked(t, c.namesrv, 'name server');
  ons.printProblemSummary();
}, { timeoutMs: 240000 });
