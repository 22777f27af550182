'use strict';
// SQL92 property filters with ali-ons. A subscription given as
//   consumer.subscribe(topic, { expressionType: 'SQL92', subString: '<expression>' }, handler)
// is sent by ali-ons in the heartbeat (subscriptionDataSet[].expressionType/subString) and with every
// pull (PULL_MESSAGE header fields `subscription` and `expressionType`, sysFlag FLAG_SUBSCRIPTION).
// ali-ons does no filtering of its own for SQL92 (its client-side tag check only runs for tag lists),
// so whatever arrives was selected by the broker.
//   phase 1: broker with --enablePropertyFilter=true. 200 messages (user properties a = i, region =
//            eu/us alternating) are stored first; a clustering consumer with "a > 150 AND region = 'eu'"
//            must receive exactly the matching ones. 100 more are sent while it runs (long polling).
//            Raw PULL_MESSAGE with the expression / with "a >> 1" shows what the broker answers.
//   phase 2: a second group with the invalid expression "a >> 1" must receive nothing; the broker's
//            refusal (SUBSCRIPTION_PARSE_FAILED, 23) must reach ali-ons in a response to its own
//            heartbeat or pull, and ali-ons must emit 'error' events.
//   phase 3: the broker is restarted on the same store WITHOUT --enablePropertyFilter. A SQL92
//            consumer must receive nothing, and SYSTEM_ERROR (1) naming enablePropertyFilter must
//            reach ali-ons the same way.
// Whether any ali-ons 'error' event carries the reason is printed as a NOTE line: Ramjet refuses the
// whole heartbeat, which ali-ons ignores, so its user only sees "no consumer for this group".

const { runTest, step, waitFor } = require('./lib/harness');
const cluster = require('./lib/cluster');
const rm = require('./lib/remoting');
const ons = require('./lib/ons');
const common = require('./lib/common');

const TOPIC = 'CompatSqlTopic';
const GROUP_OK = 'CID_RAMJET_COMPAT_SQL';
const GROUP_BAD = 'CID_RAMJET_COMPAT_SQL_BAD';
const GROUP_OFF = 'CID_RAMJET_COMPAT_SQL_OFF';
const RAW_GROUP = 'CID_RAMJET_COMPAT_SQL_RAW';
const QUEUES = 4;
const N1 = 200; // stored before the consumer starts
const N2 = 100; // sent while it runs
const EXPR = "a > 150 AND region = 'eu'";
const BAD_EXPR = 'a >> 1';
const FILTER_ARGS = [ '--enablePropertyFilter=true' ];
const region = i => (i % 2 === 0 ? 'eu' : 'us');
const matches = i => i > 150 && region(i) === 'eu';
const WATCHED = [ 'sendHearbeat', 'pullMessage', 'getConsumerIdListByGroup' ];
// ali-ons learns the route of a new group's %RETRY% topic only later (TOPIC_NOT_EXIST at start).
const retryRouteNotYet = err => err.code === 17 && /%RETRY%/.test(err.message);

function decorate(msg, i) {
  msg.properties.a = String(i);
  msg.properties.region = region(i);
}

/** Differences in the user properties a and region of delivered messages. */
const propDiffs = [];

/**
 * Starts a consumer with a SQL92 subscription; records its error events and MQClient calls. The
 * handler also checks that a and region arrived unchanged.
 */
async function sqlConsumer(c, group, instanceName, expression, tracker, isExpectedError) {
  const consumer = await ons.makeConsumer(c.nsAddr, {
    group,
    instanceName,
    options: { pollNameServerInteval: 1000, pullTimeDelayMillsWhenException: 1000 },
    isExpectedError,
  });
  const events = [];
  consumer.on('error', err => events.push({ at: Date.now(), code: err && err.code, message: String(err && err.message) }));
  const calls = ons.watchCalls(consumer, WATCHED);
  const record = tracker.handler(instanceName);
  consumer.subscribe(TOPIC, { expressionType: 'SQL92', subString: expression }, async msg => {
    const p = msg.properties || {};
    const i = Number(p[ons.IDX_PROP]);
    if (p.a !== String(i) || p.region !== region(i)) {
      propDiffs.push(`${instanceName} #${i}: a=${JSON.stringify(p.a)} region=${JSON.stringify(p.region)}`);
    }
    await record(msg);
  });
  return { consumer, events, calls };
}

function describeCalls(calls) {
  const counts = {};
  for (const r of calls) {
    const k = `${r.method} ${r.ok === undefined ? 'in flight' : r.ok ? `ok${r.status ? ` ${r.status}` : ''}` : `code=${r.code}`}`;
    counts[k] = (counts[k] || 0) + 1;
  }
  return counts;
}

function firstFailure(calls, method) {
  const r = calls.find(x => x.method === method && x.ok === false);
  return r ? `code=${r.code} ${JSON.stringify(r.message)}` : 'none';
}

/** Indices the tracker received, sorted. */
function receivedIndices(tracker) {
  return Array.from(tracker.deliveries.keys()).sort((a, b) => a - b);
}

function range(from, to, pred) {
  const out = [];
  for (let i = from; i < to; i++) if (pred(i)) out.push(i);
  return out;
}

/** Waits until the committed offsets of the group reach the max offsets (the consumer went through everything). */
async function waitCommittedToMax(c, group, timeoutMs) {
  let last;
  const ok = await waitFor(async () => {
    const max = await common.maxOffsets(c.brokerAddr, TOPIC, QUEUES);
    const committed = await common.committedOffsets(c.brokerAddr, group, TOPIC, QUEUES);
    last = { max, committed };
    return JSON.stringify(max) === JSON.stringify(committed);
  }, { timeoutMs, intervalMs: 500 });
  return { ok: !!ok, last };
}

/**
 * A refused SQL92 consumer. Checks: nothing is delivered; the broker's refusal (`code`, remark
 * matching `re`) reaches ali-ons in a response to its own heartbeat or pull (observed by wrapping
 * its calls); ali-ons emits at least one 'error' event. Whether an 'error' event carries the
 * reason itself is reported (NOTE line): with Java RocketMQ 4.x the heartbeat is accepted and every
 * pull is refused with the reason, which ali-ons emits; a broker that refuses the heartbeat instead
 * leaves the group unregistered, and ali-ons (which ignores heartbeat failures) only reports
 * "no consumer for this group" from its rebalance.
 */
async function checkRefused(t, what, s, tracker, code, re) {
  const refused = r => r.ok === false && r.code === code && re.test(r.message || '');
  const seen = await waitFor(() => s.calls.some(refused) && s.events.some(e => !(e.code === 17 && /%RETRY%/.test(e.message))), { timeoutMs: 15000, intervalMs: 200 });
  await rm.sleep(3000); // more attempts; a delivery would show up here
  const evCodes = {};
  for (const e of s.events) {
    const k = `code=${e.code} ${e.message.replace(/^(MQPushConsumer occurred an error )+/, '').replace(/[0-9]+/g, 'N').slice(0, 120)}`;
    evCodes[k] = (evCodes[k] || 0) + 1;
  }
  t.note(`${what}: ali-ons MQClient calls: ${JSON.stringify(describeCalls(s.calls))}`);
  t.note(`${what}: first refused heartbeat: ${firstFailure(s.calls, 'sendHearbeat')}; first refused pull: ${firstFailure(s.calls, 'pullMessage')}`);
  t.note(`${what}: ali-ons 'error' events: ${JSON.stringify(evCodes, null, 1).replace(/\n\s*/g, ' ')}`);
  t.check(tracker.total === 0, `${what}: the consumer received nothing`, `${tracker.total} deliveries: ${receivedIndices(tracker).slice(0, 20).join(',')}`);
  const okPulls = s.calls.filter(r => r.method === 'pullMessage' && r.ok === true);
  t.check(okPulls.length === 0, `${what}: no pull of ali-ons was answered with success`, describeCalls(s.calls));
  const r = s.calls.find(refused);
  t.check(!!seen && !!r, `${what}: the broker refused the subscription in a response to ali-ons (code ${code}, remark matching ${re})` +
    (r ? `: ${r.method} answered code=${r.code} ${JSON.stringify(r.message)}` : ''), describeCalls(s.calls));
  const userEvents = s.events.filter(e => !(e.code === 17 && /%RETRY%/.test(e.message)));
  t.check(userEvents.length > 0, `${what}: the user gets ali-ons 'error' events (${userEvents.length}, not counting the %RETRY% route lookups)`, s.events.slice(0, 5));
  const reasonEvents = s.events.filter(e => e.code === code && re.test(e.message));
  if (!reasonEvents.length) {
    t.note(`NOTE ${what}: no ali-ons 'error' event carries the reason (code ${code}); the user only sees ${JSON.stringify(Object.keys(evCodes))}`);
  } else {
    t.note(`${what}: ${reasonEvents.length} ali-ons 'error' events carry the reason, e.g. ${JSON.stringify(reasonEvents[0].message)}`);
  }
}

runTest('sql92', async t => {
  step(`start name server and broker (${FILTER_ARGS.join(' ')})`);
  const c = await cluster.startCluster({ brokerArgs: FILTER_ARGS });
  t.tempDir(c.dir);

  step(`create topic ${TOPIC} with ${QUEUES} queues`);
  await common.createTopicAndWait(t, c, TOPIC, QUEUES);

  // ------------------------------------------------------------------------------------------
  step(`phase 1: ${N1} messages (a = i, region = eu/us alternating), then a consumer with "${EXPR}"`);
  const producer = await ons.makeProducer(c.nsAddr, { instanceName: 'compat-sql-producer' });
  t.cleanup(() => ons.closeClient(producer, 'producer'));
  const tracker = new ons.Tracker(TOPIC);
  const sent1 = await ons.sendMessages(producer, TOPIC, 0, N1, { tracker, largeEvery: 0, decorate });
  ons.checkSendResults(t, `phase 1 (${N1} messages)`, sent1, { queues: QUEUES });

  const ok = await sqlConsumer(c, GROUP_OK, 'compat-sql-ok', EXPR, tracker, retryRouteNotYet);
  t.cleanup(() => ons.closeClient(ok.consumer, 'consumer ok'));
  const want1 = range(0, N1, matches);
  await waitFor(() => want1.every(i => tracker.deliveries.has(i)), { timeoutMs: 20000, intervalMs: 200 });
  const c1 = await waitCommittedToMax(c, GROUP_OK, 30000);
  t.check(c1.ok, `phase 1: the committed offsets of ${GROUP_OK} reach the max offsets (the consumer went past every stored message)`, c1.last);
  await rm.sleep(1000); // a late delivery would show up here
  tracker.finalizeCompare();
  const got1 = receivedIndices(tracker);
  t.check(JSON.stringify(got1) === JSON.stringify(want1),
    `phase 1: exactly the ${want1.length} matching messages (#${want1[0]}..#${want1[want1.length - 1]}, even) were received`,
    { received: got1.length, missing: want1.filter(i => !tracker.deliveries.has(i)).slice(0, 20), unexpected: got1.filter(i => !matches(i)).slice(0, 20) });
  t.check(tracker.mismatchCount === 0, 'phase 1: every delivered message matches what was sent (body, tags, keys, user property, queue, offset, msgId)',
    `${tracker.mismatchCount} mismatches, first: ${tracker.mismatches.slice(0, 5).join('\n    ')}`);
  const dup1 = tracker.duplicates(0, N1);
  t.check(dup1.redelivered === 0 && dup1.stored === 0, 'phase 1: no message delivered twice', dup1);
  const failedOk = ok.calls.filter(r => r.ok === false); // ok undefined: still in flight (long polling)
  t.check(failedOk.length === 0, `phase 1: every heartbeat and pull of the SQL92 consumer succeeded (${JSON.stringify(describeCalls(ok.calls))})`,
    failedOk.slice(0, 5));
  t.check(propDiffs.length === 0, 'phase 1: the user properties a and region arrived unchanged', propDiffs.slice(0, 5));

  step(`phase 1b: ${N2} more messages while the consumer runs`);
  const sent2 = await ons.sendMessages(producer, TOPIC, N1, N2, { tracker, largeEvery: 0, decorate });
  t.check(sent2.errors.length === 0, `phase 1b: every send succeeded (${sent2.expected.size})`, sent2.errors.slice(0, 5));
  const want2 = range(0, N1 + N2, matches);
  const arrived = await waitFor(() => want2.every(i => tracker.deliveries.has(i)), { timeoutMs: 20000, intervalMs: 200 });
  const c2 = await waitCommittedToMax(c, GROUP_OK, 20000);
  t.check(c2.ok, 'phase 1b: the committed offsets reach the max offsets again', c2.last);
  await rm.sleep(1000);
  tracker.finalizeCompare();
  const got2 = receivedIndices(tracker);
  t.check(!!arrived && JSON.stringify(got2) === JSON.stringify(want2),
    `phase 1b: exactly the ${want2.length} matching messages of all ${N1 + N2} were received (${want2.length - want1.length} of them sent while the consumer was long-polling)`,
    { received: got2.length, missing: want2.filter(i => !tracker.deliveries.has(i)).slice(0, 20), unexpected: got2.filter(i => !matches(i)).slice(0, 20) });
  t.check(tracker.mismatchCount === 0, 'phase 1b: every delivered message matches what was sent', tracker.mismatches.slice(0, 5));
  const dup2 = tracker.duplicates(0, N1 + N2);
  t.check(dup2.redelivered === 0 && dup2.stored === 0, 'phase 1b: no message delivered twice', dup2);
  t.note(`SQL92 consumer calls: ${JSON.stringify(describeCalls(ok.calls))}`);

  step('raw PULL_MESSAGE with the SQL92 expression and with an invalid one (what the broker answers)');
  // Per queue: the matching messages in queue order (from the send results; which queue holds which
  // index depends on ali-ons's round-robin start, so a queue may hold only "us" messages).
  const allSent = new Map([ ...sent1.expected, ...sent2.expected ]);
  const rawProblems = [];
  const rawSummary = [];
  for (let q = 0; q < QUEUES; q++) {
    const inQueue = Array.from(allSent.entries()).filter(([ , e ]) => e.sendResult.queueId === q)
      .sort((x, y) => x[1].sendResult.queueOffset - y[1].sendResult.queueOffset);
    const wantIdx = inQueue.filter(([ i ]) => matches(i)).map(([ i ]) => i);
    const r = await rm.pullMessage(c.brokerAddr, { group: RAW_GROUP, topic: TOPIC, queueId: q, offset: 0, maxMsgNums: 32, subscription: EXPR, expressionType: 'SQL92' });
    const got = r.records.map(x => Number(x.properties[ons.IDX_PROP]));
    rawSummary.push(`q${q}: code ${r.code}, ${got.length} records, nextBeginOffset ${r.extFields.nextBeginOffset}`);
    if (wantIdx.length) {
      if (r.code !== rm.ResponseCode.SUCCESS || !got.length || JSON.stringify(got) !== JSON.stringify(wantIdx.slice(0, got.length))) {
        rawProblems.push(`q${q}: code ${r.code} ${JSON.stringify(r.remark)}, records #${got.join(',')}; expected SUCCESS with the first matching ones #${wantIdx.slice(0, 32).join(',')}`);
      }
    } else if (r.code !== rm.ResponseCode.PULL_RETRY_IMMEDIATELY || Number(r.extFields.nextBeginOffset) !== inQueue.length) {
      rawProblems.push(`q${q} (no matching message): code ${r.code} ${JSON.stringify(r.remark)}, nextBeginOffset ${r.extFields.nextBeginOffset}; ` +
        `expected PULL_RETRY_IMMEDIATELY (20) with nextBeginOffset ${inQueue.length}`);
    }
  }
  t.check(rawProblems.length === 0, `raw pull of every queue with "${EXPR}" from offset 0: SUCCESS with exactly the first matching records, ` +
    `or PULL_RETRY_IMMEDIATELY past the end for a queue without any (${rawSummary.join('; ')})`, rawProblems);
  const rawBad = await rm.pullMessage(c.brokerAddr, { group: RAW_GROUP, topic: TOPIC, queueId: 0, offset: 0, subscription: BAD_EXPR, expressionType: 'SQL92' });
  t.check(rawBad.code === rm.ResponseCode.SUBSCRIPTION_PARSE_FAILED,
    `raw pull with "${BAD_EXPR}": code ${rawBad.code} (SUBSCRIPTION_PARSE_FAILED = 23), remark ${JSON.stringify(rawBad.remark)}`,
    { code: rawBad.code, remark: rawBad.remark, records: rawBad.records.length });

  // ------------------------------------------------------------------------------------------
  step(`phase 2: group ${GROUP_BAD} subscribes with the invalid expression "${BAD_EXPR}"`);
  const badTracker = new ons.Tracker(TOPIC);
  badTracker.expect({ expected: new Map([ ...sent1.expected, ...sent2.expected ]) });
  const bad = await sqlConsumer(c, GROUP_BAD, 'compat-sql-bad', BAD_EXPR, badTracker,
    err => err.code === rm.ResponseCode.SUBSCRIPTION_PARSE_FAILED || retryRouteNotYet(err));
  t.cleanup(() => ons.closeClient(bad.consumer, 'consumer bad'));
  await checkRefused(t, `phase 2 (${GROUP_BAD}, "${BAD_EXPR}")`, bad, badTracker, rm.ResponseCode.SUBSCRIPTION_PARSE_FAILED, /./);
  t.check(tracker.total === want2.length, `phase 2: the valid group received nothing more meanwhile (${tracker.total} deliveries)`);

  step('close the consumers; stop the broker; restart it on the same store WITHOUT --enablePropertyFilter');
  await ons.closeClient(bad.consumer, 'consumer bad');
  await ons.closeClient(ok.consumer, 'consumer ok');
  await common.stopChecked(t, c.broker, 'broker');
  c.broker.extraArgs = [];
  await cluster.restartBroker(c);
  await rm.waitRoute(c.nsAddr, TOPIC, { queues: QUEUES, timeoutMs: 30000 });

  // ------------------------------------------------------------------------------------------
  step(`phase 3: group ${GROUP_OFF} subscribes with "${EXPR}" on a broker without property filtering`);
  const rawAll = await rm.pullMessage(c.brokerAddr, { group: RAW_GROUP, topic: TOPIC, queueId: 0, offset: 0, maxMsgNums: 8 });
  t.check(rawAll.code === rm.ResponseCode.SUCCESS && rawAll.records.length === 8,
    `raw pull of queue 0 with "*" after the restart: SUCCESS with 8 records (the data is there)`, { code: rawAll.code, remark: rawAll.remark, records: rawAll.records.length });
  const rawOff = await rm.pullMessage(c.brokerAddr, { group: RAW_GROUP, topic: TOPIC, queueId: 0, offset: 0, subscription: EXPR, expressionType: 'SQL92' });
  t.check(rawOff.code === rm.ResponseCode.SYSTEM_ERROR && /enablePropertyFilter/.test(rawOff.remark || ''),
    `raw pull with "${EXPR}": code ${rawOff.code} (SYSTEM_ERROR = 1), remark ${JSON.stringify(rawOff.remark)} names enablePropertyFilter`,
    { code: rawOff.code, remark: rawOff.remark });
  const offTracker = new ons.Tracker(TOPIC);
  const off = await sqlConsumer(c, GROUP_OFF, 'compat-sql-off', EXPR, offTracker,
    err => (err.code === rm.ResponseCode.SYSTEM_ERROR && /enablePropertyFilter/.test(err.message)) || retryRouteNotYet(err));
  t.cleanup(() => ons.closeClient(off.consumer, 'consumer off'));
  await checkRefused(t, `phase 3 (${GROUP_OFF}, filter disabled)`, off, offTracker, rm.ResponseCode.SYSTEM_ERROR, /enablePropertyFilter/);

  step('shut down');
  await ons.closeClient(off.consumer, 'consumer off');
  await ons.closeClient(producer, 'producer');
  await common.stopChecked(t, c.broker, 'broker');
  await common.stopChecked(t, c.namesrv, 'name server');
  ons.printProblemSummary();
}, { timeoutMs: 180000 });
