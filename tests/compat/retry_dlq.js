'use strict';
// Consume failures with ali-ons: when a clustering handler throws, ali-ons sends
// CONSUMER_SEND_MSG_BACK (36, delayLevel 0, maxReconsumeTimes from its options). The broker stores
// the message again in %RETRY%<group> with delay level 3 + reconsumeTimes (all 18 levels are 1 s
// here), and into %DLQ%<group> (1 queue) once reconsumeTimes >= maxReconsumeTimes.
//   phase 1: group 1 fails the first delivery of each of 50 messages and accepts the second:
//            every message arrives exactly twice, the second time with reconsumeTimes 1, the
//            original topic and unchanged content;
//   phase 2: group 2 (maxReconsumeTimes 2) always fails 10 of the same 50 messages: each of them is
//            delivered 3 times (reconsumeTimes 0, 1, 2), then lands in %DLQ%<group 2>; the DLQ is
//            read back with raw PULL_MESSAGE and its records are checked.

const { runTest, step, waitFor } = require('./lib/harness');
const cluster = require('./lib/cluster');
const rm = require('./lib/remoting');
const ons = require('./lib/ons');
const common = require('./lib/common');

const TOPIC = 'CompatRetryTopic';
const GROUP1 = 'CID_RAMJET_COMPAT_RETRY';
const GROUP2 = 'CID_RAMJET_COMPAT_DLQ';
const READER_GROUP = 'CID_RAMJET_COMPAT_DLQ_READER';
const QUEUES = 2;
const N = 50;
const FAIL = new Set(Array.from({ length: N }, (_, i) => i).filter(i => i % 5 === 0)); // 10 messages
const MAX_RECONSUME_2 = 2;
const DEFAULT_MAX_RECONSUME = 16; // ali-ons default maxReconsumeTimes
const RETRY_DELAY_MS = 1000; // every level is 1 s
const TOLERANCE_MS = 50;
const BROKER_ARGS = [ `--messageDelayLevel=${Array(18).fill('1s').join(' ')}` ];
const SCHEDULE_TOPIC = 'SCHEDULE_TOPIC_XXXX';
// ali-ons learns the route of its %RETRY% topic only from its periodic name-server poll (option
// pollNameServerInteval, sic, default 30 s; the first lookup at start fails because the broker creates
// the topic on the first heartbeat). Poll every second so that redeliveries are not held back by it.
const CONSUMER_OPTIONS = { pollNameServerInteval: 1000 };
const retryTopic = g => `%RETRY%${g}`;
const dlqTopic = g => `%DLQ%${g}`;

// Provoked handler failures and the first route lookup of a new group's %RETRY% topic (no route until
// the broker creates it on the first heartbeat) are expected 'error' events.
const isExpectedError = err => /compat: provoked failure/.test(err.message) || (err.code === 17 && /%RETRY%/.test(err.message));

/** Records every delivery; fails it (throws) when shouldFail(i, msg) says so. */
class RetryTracker {
  constructor(name, shouldFail) {
    this.name = name;
    this.shouldFail = shouldFail;
    this.deliveries = new Map();
    this.foreign = [];
    this.total = 0;
  }
  handler() {
    return async msg => {
      const at = Date.now();
      this.total++;
      const props = Object.assign({}, msg.properties || {});
      const i = Number(props[ons.IDX_PROP]);
      if (!Number.isInteger(i) || i < 0 || i >= N) {
        this.foreign.push(`msgId=${msg.msgId} topic=${msg.topic} properties=${JSON.stringify(props)}`);
        return;
      }
      let list = this.deliveries.get(i);
      if (!list) this.deliveries.set(i, list = []);
      list.push({
        at,
        topic: msg.topic,
        queueId: Number(msg.queueId),
        queueOffset: Number(msg.queueOffset),
        msgId: msg.msgId,
        bornTimestamp: Number(msg.bornTimestamp),
        reconsumeTimes: Number(msg.reconsumeTimes),
        tags: msg.tags,
        keys: msg.keys,
        props,
        body: msg.body ? Buffer.from(msg.body) : Buffer.alloc(0),
      });
      if (this.shouldFail(i, msg)) throw new Error(`compat: provoked failure of #${i} (reconsumeTimes ${msg.reconsumeTimes})`);
    };
  }
  count(i) {
    return (this.deliveries.get(i) || []).length;
  }
}

/** Waits until want(i) deliveries of every message; bounded overall and without progress. */
async function waitCounts(tracker, want, { timeoutMs = 60000, stallMs = 20000 } = {}) {
  const t0 = Date.now();
  let last = -1;
  let lastProgress = Date.now();
  let lastPrint = 0;
  for (;;) {
    const short = [];
    for (let i = 0; i < N; i++) if (tracker.count(i) < want(i)) short.push(i);
    if (!short.length) {
      console.error(`  ${tracker.name}: all expected deliveries after ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      return { short, reason: null };
    }
    if (tracker.total !== last) {
      last = tracker.total;
      lastProgress = Date.now();
    }
    if (Date.now() - lastPrint > 5000) {
      lastPrint = Date.now();
      console.error(`  ... ${tracker.name}: ${tracker.total} deliveries, ${short.length} messages still short of their expected count`);
    }
    if (Date.now() - t0 > timeoutMs) return { short, reason: `not reached within ${timeoutMs} ms` };
    if (Date.now() - lastProgress > stallMs) return { short, reason: `no delivery at all for ${stallMs} ms` };
    await rm.sleep(100);
  }
}

function describeShort(tracker, short, want) {
  return short.slice(0, 10).map(i => `#${i}: ${tracker.count(i)}/${want(i)} deliveries (reconsumeTimes ${JSON.stringify((tracker.deliveries.get(i) || []).map(d => d.reconsumeTimes))})`).join('; ');
}

/** Differences between a delivery and what was sent (content and original topic). */
function contentDiffs(d, e) {
  const x = [];
  if (!d.body.equals(e.body)) x.push(`body ${JSON.stringify(d.body.toString('utf8').slice(0, 60))} != ${JSON.stringify(e.body.toString('utf8').slice(0, 60))}`);
  if (d.topic !== TOPIC) x.push(`topic ${JSON.stringify(d.topic)} != ${TOPIC}`);
  if (d.tags !== e.tags) x.push(`tags ${JSON.stringify(d.tags)} != ${e.tags}`);
  if (d.keys !== e.keys) x.push(`keys ${JSON.stringify(d.keys)} != ${e.keys}`);
  if (d.props[ons.USER_PROP] !== e.user) x.push(`${ons.USER_PROP} ${JSON.stringify(d.props[ons.USER_PROP])} != ${JSON.stringify(e.user)}`);
  return x;
}

/** Checks the first delivery (reconsumeTimes 0, from the original queue slot) and the redeliveries. */
function checkDeliveries(t, what, tracker, sent, want, { group, maxTimes }) {
  const problems = [];
  for (let i = 0; i < N; i++) {
    const e = sent.expected.get(i);
    const list = tracker.deliveries.get(i) || [];
    if (!e) continue;
    if (list.length !== want(i)) {
      problems.push(`#${i}: ${list.length} deliveries, expected ${want(i)} (reconsumeTimes ${JSON.stringify(list.map(d => d.reconsumeTimes))})`);
    }
    list.forEach((d, k) => {
      const x = contentDiffs(d, e);
      if (d.reconsumeTimes !== k) x.push(`reconsumeTimes ${d.reconsumeTimes} != ${k}`);
      if (k === 0) {
        const r = e.sendResult;
        if (d.msgId !== r.msgId) x.push(`msgId ${d.msgId} != send result ${r.msgId}`);
        if (d.queueId !== r.queueId || d.queueOffset !== r.queueOffset) x.push(`slot q${d.queueId}@${d.queueOffset} != send result q${r.queueId}@${r.queueOffset}`);
      } else {
        const prev = list[k - 1];
        if (d.props.RETRY_TOPIC !== TOPIC) x.push(`RETRY_TOPIC property ${JSON.stringify(d.props.RETRY_TOPIC)} != ${TOPIC}`);
        if (d.props.ORIGIN_MESSAGE_ID !== e.sendResult.msgId) x.push(`ORIGIN_MESSAGE_ID ${JSON.stringify(d.props.ORIGIN_MESSAGE_ID)} != the original msgId ${e.sendResult.msgId}`);
        if (d.msgId === prev.msgId) x.push(`msgId ${d.msgId} is the one of the previous delivery (not a new stored record)`);
        if (d.at - prev.at < RETRY_DELAY_MS - TOLERANCE_MS) x.push(`redelivered ${d.at - prev.at} ms after the failed delivery, before the ${RETRY_DELAY_MS} ms retry delay`);
        // The retry level (3 + reconsumeTimes at the send-back) stays among the properties, as
        // Apache RocketMQ 4.9.7 stores it (tests/diff).
        if (d.props.DELAY !== String(2 + d.reconsumeTimes)) x.push(`DELAY=${d.props.DELAY} on the redelivered message, not the retry level ${2 + d.reconsumeTimes}`);
        if (d.bornTimestamp !== list[0].bornTimestamp) x.push(`bornTimestamp ${d.bornTimestamp} != original ${list[0].bornTimestamp}`);
      }
      if (x.length) problems.push(`#${i} delivery ${k + 1}: ${x.join('; ')}`);
    });
  }
  t.check(problems.length === 0, `${what}: every message delivered the expected number of times; first delivery reconsumeTimes 0 from its ` +
    `queue slot; delivery k+1 with reconsumeTimes k, topic ${TOPIC} (not ${retryTopic(group)}), same body/tags/keys/user property, ` +
    `RETRY_TOPIC and ORIGIN_MESSAGE_ID set, at least ${RETRY_DELAY_MS} ms after the failure (maxReconsumeTimes ${maxTimes})`,
  `${problems.length} problems, first: ${problems.slice(0, 10).join('\n    ')}`);
  t.check(tracker.foreign.length === 0, `${what}: no message without a valid ${ons.IDX_PROP}`, tracker.foreign.slice(0, 5));
}

function checkSendBacks(t, what, stats, expectedCalls, maxTimes) {
  t.check(stats.failures.length === 0, `${what}: every CONSUMER_SEND_MSG_BACK answered SUCCESS (no fallback to a client-side resend)`,
    stats.failures.slice(0, 5));
  t.check(stats.calls === expectedCalls && stats.ok === expectedCalls, `${what}: ali-ons sent ${expectedCalls} CONSUMER_SEND_MSG_BACK requests (got ${stats.calls}, ${stats.ok} SUCCESS)`);
  const odd = stats.requests.filter(r => r.delayLevel !== 0 || r.maxReconsumeTimes !== maxTimes);
  t.check(odd.length === 0, `${what}: every send-back carried delayLevel 0 and maxReconsumeTimes ${maxTimes}`, odd.slice(0, 5));
}

/** Reads every record of queue 0 of a topic with raw PULL_MESSAGE from offset 0. */
async function pullAll(brokerAddr, topic, want) {
  const records = [];
  const answers = [];
  let offset = 0;
  for (let round = 0; round < 20 && records.length < want; round++) {
    const res = await rm.pullMessage(brokerAddr, { group: READER_GROUP, topic, queueId: 0, offset, maxMsgNums: 32 });
    answers.push(`code=${res.code} remark=${JSON.stringify(res.remark)} extFields=${JSON.stringify(res.extFields)} records=${res.records.length}`);
    if (res.code !== rm.ResponseCode.SUCCESS) break;
    records.push(...res.records);
    const next = Number(res.extFields.nextBeginOffset);
    if (!(next > offset)) break;
    offset = next;
  }
  return { records, answers };
}

runTest('retry_dlq', async t => {
  step('start name server and broker (all 18 delay levels = 1 s)');
  const c = await cluster.startCluster({ brokerArgs: BROKER_ARGS });
  t.tempDir(c.dir);

  step(`create topic ${TOPIC} with ${QUEUES} queues and send ${N} messages`);
  await common.createTopicAndWait(t, c, TOPIC, QUEUES);
  const producer = await ons.makeProducer(c.nsAddr, { instanceName: 'compat-retry-producer' });
  t.cleanup(() => ons.closeClient(producer, 'producer'));
  const sent = await ons.sendMessages(producer, TOPIC, 0, N, { largeEvery: 0, concurrency: 4 });
  const perQueue = ons.checkSendResults(t, `${N} messages`, sent, { queues: QUEUES });
  // The consume queue is built asynchronously after SEND_OK (as in RocketMQ), so poll briefly.
  const sentPerQueue = Array.from({ length: QUEUES }, (_, q) => perQueue.get(q) || 0);
  let topicMax;
  await waitFor(async () => {
    topicMax = await common.maxOffsets(c.brokerAddr, TOPIC, QUEUES);
    return JSON.stringify(topicMax) === JSON.stringify(sentPerQueue);
  }, { timeoutMs: 5000, intervalMs: 50 });
  t.check(JSON.stringify(topicMax) === JSON.stringify(sentPerQueue), `GET_MAX_OFFSET of ${TOPIC} per queue equals the messages sent to it (${JSON.stringify(topicMax)})`,
    { maxOffsets: topicMax, sentPerQueue });

  // ------------------------------------------------------------------------------------------
  step(`phase 1: group ${GROUP1} fails the first delivery of every message, accepts the second`);
  const tr1 = new RetryTracker(GROUP1, (i, msg) => Number(msg.reconsumeTimes) === 0);
  let consumer1 = await ons.makeConsumer(c.nsAddr, { group: GROUP1, instanceName: 'compat-retry-c1', isExpectedError, options: CONSUMER_OPTIONS });
  t.cleanup(() => consumer1 && ons.closeClient(consumer1, 'consumer 1'));
  const sb1 = ons.watchSendBack(consumer1);
  consumer1.subscribe(TOPIC, '*', tr1.handler());
  const want1 = () => 2;
  const w1 = await waitCounts(tr1, want1);
  t.check(w1.short.length === 0, `phase 1: every message delivered twice (${N} x 2)`,
    w1.short.length ? `${w1.reason}: ${w1.short.length} short; ${describeShort(tr1, w1.short, want1)}; send-backs ${sb1.calls} (${sb1.ok} SUCCESS), ` +
      `${retryTopic(GROUP1)} max offset ${await rm.getMaxOffset(c.brokerAddr, retryTopic(GROUP1), 0).catch(e => e.message)}` : undefined);
  await rm.sleep(2 * RETRY_DELAY_MS + 2000); // a third delivery would show up here
  checkDeliveries(t, 'phase 1', tr1, sent, want1, { group: GROUP1, maxTimes: DEFAULT_MAX_RECONSUME });
  checkSendBacks(t, 'phase 1', sb1, N, DEFAULT_MAX_RECONSUME);

  step('phase 1: offsets of %RETRY%, SCHEDULE_TOPIC_XXXX, no DLQ');
  const retryMax1 = await rm.getMaxOffset(c.brokerAddr, retryTopic(GROUP1), 0).catch(e => e.message);
  t.check(retryMax1 === N, `GET_MAX_OFFSET ${retryTopic(GROUP1)} queue 0 = ${N} (one retry record per message; got ${retryMax1})`);
  const sched1 = await rm.getMaxOffset(c.brokerAddr, SCHEDULE_TOPIC, 2).catch(e => e.message);
  t.check(sched1 === N, `GET_MAX_OFFSET ${SCHEDULE_TOPIC} queue 2 (level 3 = 3 + reconsumeTimes 0) = ${N} (got ${sched1})`);
  const dlq1 = await rm.getRoute(c.nsAddr, dlqTopic(GROUP1));
  t.check(dlq1.code === rm.ResponseCode.TOPIC_NOT_EXIST, `${dlqTopic(GROUP1)} does not exist (name server answers TOPIC_NOT_EXIST)`, dlq1);
  let committed1;
  await waitFor(async () => {
    committed1 = await common.committedOffsets(c.brokerAddr, GROUP1, TOPIC, QUEUES);
    committed1.push(await rm.queryConsumerOffset(c.brokerAddr, GROUP1, retryTopic(GROUP1), 0));
    return JSON.stringify(committed1) === JSON.stringify([ ...topicMax, N ]);
  }, { timeoutMs: 15000, intervalMs: 500 });
  t.check(JSON.stringify(committed1) === JSON.stringify([ ...topicMax, N ]),
    `group ${GROUP1} committed everything: ${TOPIC} queues and ${retryTopic(GROUP1)} queue 0`, { committed: committed1, expected: [ ...topicMax, N ] });
  await ons.closeClient(consumer1, 'consumer 1');
  consumer1 = null;

  // ------------------------------------------------------------------------------------------
  step(`phase 2: group ${GROUP2} (maxReconsumeTimes ${MAX_RECONSUME_2}) always fails ${FAIL.size} messages, accepts the others`);
  const tr2 = new RetryTracker(GROUP2, i => FAIL.has(i));
  let consumer2 = await ons.makeConsumer(c.nsAddr, { group: GROUP2, instanceName: 'compat-retry-c2', isExpectedError, options: Object.assign({ maxReconsumeTimes: MAX_RECONSUME_2 }, CONSUMER_OPTIONS) });
  t.cleanup(() => consumer2 && ons.closeClient(consumer2, 'consumer 2'));
  const sb2 = ons.watchSendBack(consumer2);
  consumer2.subscribe(TOPIC, '*', tr2.handler());
  // A real RocketMQ broker sends to the DLQ when the stored reconsumeTimes >= maxReconsumeTimes:
  // deliveries with reconsumeTimes 0, 1, 2 fail; the third send-back goes to %DLQ%.
  const want2 = i => (FAIL.has(i) ? MAX_RECONSUME_2 + 1 : 1);
  const w2 = await waitCounts(tr2, want2);
  t.check(w2.short.length === 0, `phase 2: each failing message delivered ${MAX_RECONSUME_2 + 1} times, the others once`,
    w2.short.length ? `${w2.reason}: ${w2.short.length} short; ${describeShort(tr2, w2.short, want2)}; send-backs ${sb2.calls} (${sb2.ok} SUCCESS)` : undefined);

  step(`phase 2: ${dlqTopic(GROUP2)} gets a route and ${FAIL.size} records`);
  let route = null;
  try {
    route = await rm.waitRoute(c.nsAddr, dlqTopic(GROUP2), { queues: 1, timeoutMs: 30000 });
  } catch (err) {
    t.check(false, `${dlqTopic(GROUP2)} is routed by the name server`, err.message);
  }
  if (route) {
    const qd = (route.queueDatas || []).find(q => q.brokerName === 'broker-a');
    t.check(qd && Number(qd.readQueueNums) === 1 && Number(qd.writeQueueNums) === 1 && (Number(qd.perm) & 6) === 6,
      `route of ${dlqTopic(GROUP2)}: 1 read/write queue on broker-a (perm read+write, as RocketMQ 4.9.8 creates it)`, route);
  }
  let dlqMax;
  await waitFor(async () => {
    dlqMax = await rm.getMaxOffset(c.brokerAddr, dlqTopic(GROUP2), 0).catch(e => e.message);
    return dlqMax === FAIL.size;
  }, { timeoutMs: 15000, intervalMs: 250 });
  t.check(dlqMax === FAIL.size, `GET_MAX_OFFSET ${dlqTopic(GROUP2)} queue 0 reaches ${FAIL.size} (got ${dlqMax})`);
  await rm.sleep(2 * RETRY_DELAY_MS + 2000); // a fourth delivery or a late DLQ record would show up here
  checkDeliveries(t, 'phase 2', tr2, sent, want2, { group: GROUP2, maxTimes: MAX_RECONSUME_2 });
  checkSendBacks(t, 'phase 2', sb2, FAIL.size * (MAX_RECONSUME_2 + 1), MAX_RECONSUME_2);
  const dlqMaxLater = await rm.getMaxOffset(c.brokerAddr, dlqTopic(GROUP2), 0).catch(e => e.message);
  t.check(dlqMaxLater === FAIL.size, `${dlqTopic(GROUP2)} still holds exactly ${FAIL.size} records a few seconds later (max offset ${dlqMaxLater})`);
  const retryMax2 = await rm.getMaxOffset(c.brokerAddr, retryTopic(GROUP2), 0).catch(e => e.message);
  t.check(retryMax2 === FAIL.size * MAX_RECONSUME_2, `GET_MAX_OFFSET ${retryTopic(GROUP2)} queue 0 = ${FAIL.size * MAX_RECONSUME_2} (${MAX_RECONSUME_2} retries per failing message; got ${retryMax2})`);

  step(`phase 2: read ${dlqTopic(GROUP2)} back with PULL_MESSAGE`);
  const pulled = await pullAll(c.brokerAddr, dlqTopic(GROUP2), FAIL.size);
  t.check(pulled.records.length === FAIL.size, `PULL_MESSAGE on ${dlqTopic(GROUP2)} queue 0 returns ${FAIL.size} records (got ${pulled.records.length})`, pulled.answers);
  const problems = [];
  const seen = new Set();
  pulled.records.forEach((r, k) => {
    const x = [];
    const i = Number(r.properties[ons.IDX_PROP]);
    const e = sent.expected.get(i);
    if (!FAIL.has(i)) x.push(`${ons.IDX_PROP}=${r.properties[ons.IDX_PROP]} is not one of the failing messages`);
    if (seen.has(i)) x.push(`#${i} is in the DLQ twice`);
    seen.add(i);
    if (r.topic !== dlqTopic(GROUP2)) x.push(`topic ${r.topic}`);
    if (r.queueId !== 0) x.push(`queueId ${r.queueId}`);
    if (r.queueOffset !== k) x.push(`queueOffset ${r.queueOffset} != ${k}`);
    if (!r.bodyCrcOk) x.push(`BODYCRC ${r.bodyCrc} does not match the body`);
    if (r.storeHost !== c.brokerAddr) x.push(`store host ${r.storeHost} != ${c.brokerAddr}`);
    if (r.reconsumeTimes !== MAX_RECONSUME_2 + 1) x.push(`reconsumeTimes ${r.reconsumeTimes} != ${MAX_RECONSUME_2 + 1}`);
    if (r.properties.RETRY_TOPIC !== TOPIC) x.push(`RETRY_TOPIC ${JSON.stringify(r.properties.RETRY_TOPIC)} != ${TOPIC}`);
    // As Apache RocketMQ 4.9.7 stores a dead letter (tests/diff): DELAY=0, WAIT=false.
    if (r.properties.DELAY !== '0' || r.properties.WAIT !== 'false') x.push(`DELAY=${r.properties.DELAY} WAIT=${r.properties.WAIT}, not 0 and false`);
    if (e) {
      if (!r.body.equals(e.body)) x.push(`body ${JSON.stringify(r.body.toString('utf8').slice(0, 60))} != ${JSON.stringify(e.body.toString('utf8'))}`);
      if (r.properties.TAGS !== e.tags) x.push(`TAGS ${r.properties.TAGS} != ${e.tags}`);
      if (r.properties.KEYS !== e.keys) x.push(`KEYS ${r.properties.KEYS} != ${e.keys}`);
      if (r.properties[ons.USER_PROP] !== e.user) x.push(`${ons.USER_PROP} ${JSON.stringify(r.properties[ons.USER_PROP])} != ${JSON.stringify(e.user)}`);
      if (r.properties.ORIGIN_MESSAGE_ID !== e.sendResult.msgId) x.push(`ORIGIN_MESSAGE_ID ${r.properties.ORIGIN_MESSAGE_ID} != the original msgId ${e.sendResult.msgId}`);
      const first = (tr2.deliveries.get(i) || [])[0];
      if (first && r.bornTimestamp !== first.bornTimestamp) x.push(`bornTimestamp ${r.bornTimestamp} != original ${first.bornTimestamp}`);
    }
    if (x.length) problems.push(`DLQ record ${k} (#${i}): ${x.join('; ')}`);
  });
  const missingInDlq = Array.from(FAIL).filter(i => !seen.has(i));
  if (pulled.records.length && missingInDlq.length) problems.push(`not in the DLQ: ${missingInDlq.map(i => `#${i}`).join(' ')}`);
  t.check(pulled.records.length > 0 && problems.length === 0,
    `the DLQ records (commit-log layout, valid TOTALSIZE/MAGICCODE/BODYCRC) are exactly the ${FAIL.size} failing messages, in queue order, ` +
    `with reconsumeTimes ${MAX_RECONSUME_2 + 1}, unchanged body/tags/keys/user property/born timestamp, RETRY_TOPIC=${TOPIC}, ORIGIN_MESSAGE_ID = original msgId, DELAY=0 and WAIT=false`,
    problems.slice(0, 10).join('\n    ') || pulled.answers);

  step('shut down');
  await ons.closeClient(consumer2, 'consumer 2');
  consumer2 = null;
  await ons.closeClient(producer, 'producer');
  await common.stopChecked(t, c.broker, 'broker');
  await common.stopChecked(t, c.namesrv, 'name server');
  ons.printProblemSummary();
}, { timeoutMs: 300000 });
