'use strict';
// Steps shared by the compatibility tests.

const rm = require('./remoting');
const ons = require('./ons');
const { waitFor } = require('./harness');

/** Checks a TopicRouteData against the single-broker cluster. */
function checkRoute(t, route, c, topic, queues) {
  const bd = (route.brokerDatas || []).find(b => b.brokerName === 'broker-a');
  const addrs = bd && bd.brokerAddrs ? bd.brokerAddrs : {};
  t.check(bd && addrs['0'] === c.brokerAddr,
    `route of ${topic}: broker-a with master (id 0) address ${c.brokerAddr}`, route.brokerDatas);
  const qd = (route.queueDatas || []).find(q => q.brokerName === 'broker-a');
  t.check(qd && Number(qd.readQueueNums) === queues && Number(qd.writeQueueNums) === queues && (Number(qd.perm) & 6) === 6,
    `route of ${topic}: ${queues} read/write queues with read+write permission`, route.queueDatas);
}

/** Creates a topic with raw UPDATE_AND_CREATE_TOPIC and waits until the name server routes it. */
async function createTopicAndWait(t, c, topic, queues) {
  await rm.createTopic(c.brokerAddr, topic, { queues });
  t.check(true, `UPDATE_AND_CREATE_TOPIC ${topic} (${queues} queues) answered SUCCESS`);
  const route = await rm.waitRoute(c.nsAddr, topic, { queues, timeoutMs: 30000 });
  checkRoute(t, route, c, topic, queues);
  return route;
}

/**
 * Waits until every successfully sent message in [from, to) has been delivered at least once.
 * Bounded by timeoutMs overall and by stallMs without any new delivery.
 */
async function waitDelivered(tracker, from, to, { timeoutMs = 180000, stallMs = 30000 } = {}) {
  const t0 = Date.now();
  let lastTotal = -1;
  let lastProgress = Date.now();
  let lastPrint = 0;
  for (;;) {
    const missing = tracker.missing(from, to);
    if (!missing.length) {
      console.error(`  all ${to - from} messages delivered after ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      return { missing, reason: null };
    }
    if (tracker.total !== lastTotal) {
      lastTotal = tracker.total;
      lastProgress = Date.now();
    }
    if (Date.now() - lastPrint > 5000) {
      lastPrint = Date.now();
      console.error(`  ... ${to - from - missing.length}/${to - from} delivered, ${tracker.total} deliveries in total`);
    }
    if (Date.now() - t0 > timeoutMs) return { missing, reason: `not all delivered within ${timeoutMs} ms` };
    if (Date.now() - lastProgress > stallMs) return { missing, reason: `no delivery at all for ${stallMs} ms` };
    await rm.sleep(200);
  }
}

/** Number of deliveries per consumer for indices in [from, to) that happened at or after `since`. */
function deliveriesByConsumer(tracker, from, to, since = 0) {
  const out = {};
  for (let i = from; i < to; i++) {
    for (const d of tracker.deliveries.get(i) || []) {
      if (d.at >= since) out[d.consumer] = (out[d.consumer] || 0) + 1;
    }
  }
  return out;
}

/**
 * Waits until the consumers of a clustering group hold disjoint, non-empty queue sets that together
 * cover all queues, and the split stays the same for a rebalance interval or two.
 */
async function waitBalanced(t, consumers, topic, queues, brokerAddr, group) {
  const snapshot = () => consumers.map(c => ons.assignedQueues(c, topic));
  const balanced = s => {
    const all = [].concat(...s);
    return s.every(q => q.length > 0) && all.length === queues && new Set(all).size === queues;
  };
  let last;
  const ok = await waitFor(async () => {
    const s1 = snapshot();
    if (!balanced(s1)) {
      last = s1;
      return false;
    }
    await rm.sleep(1500);
    const s2 = snapshot();
    last = s2;
    return balanced(s2) && JSON.stringify(s1) === JSON.stringify(s2);
  }, { timeoutMs: 25000, intervalMs: 300 });
  const desc = consumers.map((c, k) => `${c.compatName}=[${(last || [])[k]}]`).join(' ');
  t.check(!!ok, `the ${consumers.length} consumers of ${group} split the ${queues} queues between them (${desc})`,
    { assignment: desc, brokerConsumerList: await rm.getConsumerList(brokerAddr, group) });
  return ok;
}

/** Per-queue GET_MAX_OFFSET. */
async function maxOffsets(brokerAddr, topic, queues) {
  const out = [];
  for (let q = 0; q < queues; q++) out.push(await rm.getMaxOffset(brokerAddr, topic, q));
  return out;
}

/** Per-queue QUERY_CONSUMER_OFFSET (null = QUERY_NOT_FOUND). */
async function committedOffsets(brokerAddr, group, topic, queues) {
  const out = [];
  for (let q = 0; q < queues; q++) out.push(await rm.queryConsumerOffset(brokerAddr, group, topic, q));
  return out;
}

/**
 * Clean stop (SIGINT, exit code 0 within 20 s; for the broker also no abort file) recorded as a
 * check, so that the test can go on (e.g. restart on the same store) after an unclean stop.
 */
async function stopChecked(t, proc, what) {
  try {
    await proc.stop();
    t.check(true, `${what} stopped cleanly on SIGINT (exit code 0${proc.storeDir ? ', no abort file' : ''})`);
  } catch (err) {
    t.check(false, `${what} stopped cleanly on SIGINT`, err.message);
    await proc.kill();
  }
}

function closeAll(clients, what) {
  return Promise.all(clients.map((c, k) => ons.closeClient(c, `${what} ${c.compatName || k}`)));
}

module.exports = {
  checkRoute,
  createTopicAndWait,
  waitDelivered,
  deliveriesByConsumer,
  waitBalanced,
  maxOffsets,
  committedOffsets,
  closeAll,
  stopChecked,
};
