'use strict';
// Helpers around the real third-party client ali-ons (RocketMQ 4.x remoting, pure JavaScript).

const util = require('util');
const { Producer, Consumer, Message } = require('ali-ons');
const { withTimeout } = require('./harness');

const VERBOSE = process.env.RAMJET_COMPAT_VERBOSE === '1';
const CLIENT_IP = '127.0.0.1';
const TAGS = [ 'TagA', 'TagB', 'TagC' ];
const IDX_PROP = 'compat_idx';
const USER_PROP = 'compat_user';

// ---------------------------------------------------------------------------------------------
// Logging and 'error' events: ali-ons is chatty; print each distinct problem a couple of times and
// keep counts for a summary.

const problemCounts = new Map();

function normalize(text) {
  return String(text).replace(/\b[0-9A-F]{32}\b/g, '<msgId>').replace(/\d+/g, 'N').slice(0, 200);
}

function report(source, text, { expected = false, tag = '' } = {}) {
  const key = `${source}: ${tag}${normalize(text)}`;
  const n = (problemCounts.get(key) || 0) + 1;
  problemCounts.set(key, n);
  if (VERBOSE || (!expected && n <= 2)) {
    console.error(`[ali-ons ${source}] ${tag}${text.split('\n')[0]}${n === 2 && !VERBOSE ? ' (further repeats counted, not printed)' : ''}`);
  }
}

function makeLogger(name) {
  const fmt = args => util.format(...args.map(a => (a instanceof Error ? `${a.name}: ${a.message}` : a)));
  return {
    debug() {},
    info: VERBOSE ? (...a) => console.error(`[ali-ons ${name}] info: ${fmt(a)}`) : () => {},
    warn: VERBOSE ? (...a) => console.error(`[ali-ons ${name}] warn: ${fmt(a)}`) : () => {},
    error: (...a) => report(`${name} log`, fmt(a)),
  };
}

/**
 * 'error' event handler. A fresh group gets QUERY_NOT_FOUND (22) for offsets: expected. A test may
 * declare more expected errors with isExpected(err) (counted in the summary, not printed).
 */
function errorHandler(name, isExpected = null) {
  return err => {
    const code = err && err.code;
    const tag = code !== undefined ? `code=${code} ` : '';
    const expected = code === 22 || !!(isExpected && err && isExpected(err));
    report(`${name} error-event`, `${err && err.name}: ${err && err.message}`, { expected, tag });
  };
}

function problemSummary() {
  const lines = [];
  for (const [ k, n ] of problemCounts) lines.push(`${String(n).padStart(6)} x ${k}`);
  return lines;
}

function printProblemSummary() {
  const lines = problemSummary();
  if (lines.length) {
    console.error('ali-ons logged errors / error events (counts, digits normalized to N):');
    for (const l of lines) console.error(`  ${l}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Clients

function baseOptions(nsAddr, name) {
  return { nameSrv: nsAddr, httpclient: {}, clientIP: CLIENT_IP, logger: makeLogger(name) };
}

/**
 * ali-ons creates one process-wide internal producer (CLIENT_INNER_PRODUCER) from the options of
 * the first client. Create it explicitly with its own instance name so that it never shares an
 * MQClient (and thus a client id) with the producers and consumers under test.
 */
async function ensureInnerProducer(nsAddr) {
  if (!Producer.defaultProducer) {
    const p = Producer.getDefaultProducer(Object.assign(baseOptions(nsAddr, 'inner-producer'), { instanceName: 'compat-inner' }));
    Producer.defaultProducer.on('error', errorHandler('inner-producer'));
    await withTimeout(p, 20000, 'ali-ons inner producer ready()');
  }
}

async function makeProducer(nsAddr, { group = 'PID_RAMJET_COMPAT', instanceName = 'compat-producer', options = {} } = {}) {
  await ensureInnerProducer(nsAddr);
  const producer = new Producer(Object.assign(baseOptions(nsAddr, instanceName), {
    producerGroup: group,
    instanceName,
    sendMsgTimeout: 5000,
  }, options));
  producer.on('error', errorHandler(instanceName));
  await withTimeout(producer.ready(), 20000, `producer ${instanceName} ready()`);
  return producer;
}

/**
 * Push consumer; the instance name makes the client id (127.0.0.1@<instanceName>) unique.
 * isExpectedError(err): 'error' events the test provokes on purpose (not printed, only counted).
 */
async function makeConsumer(nsAddr, { group, instanceName, isBroadcast = false, options = {}, isExpectedError = null }) {
  await ensureInnerProducer(nsAddr);
  const consumer = new Consumer(Object.assign(baseOptions(nsAddr, instanceName), {
    consumerGroup: group,
    instanceName,
    isBroadcast,
    consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET',
    rebalanceInterval: 1000,
    persistConsumerOffsetInterval: 1000,
    brokerSuspendMaxTimeMillis: 2000,
  }, options));
  consumer.on('error', errorHandler(instanceName, isExpectedError));
  consumer.compatName = instanceName;
  await withTimeout(consumer.ready(), 20000, `consumer ${instanceName} ready()`);
  return consumer;
}

function clientId(client) {
  return client._mqClient && client._mqClient.clientId;
}

/**
 * Observes (does not change) the consumer's CONSUMER_SEND_MSG_BACK requests: wraps the method of
 * its own MQClient (one per instance name) and records every call and its outcome. ali-ons sends
 * one when a clustering handler throws; on failure it falls back to sending the message itself to
 * %RETRY%<group> with its internal producer, so failures must be counted to be seen at all.
 */
function watchSendBack(consumer) {
  const client = consumer._mqClient;
  const stats = { calls: 0, ok: 0, failures: [], requests: [] };
  const orig = client.consumerSendMessageBack;
  client.consumerSendMessageBack = async function(brokerAddr, msg, group, delayLevel, timeoutMillis, maxTimes) {
    stats.calls++;
    const req = { brokerAddr, group, delayLevel, maxReconsumeTimes: maxTimes, offset: msg.commitLogOffset, msgId: msg.msgId, reconsumeTimes: msg.reconsumeTimes };
    stats.requests.push(req);
    try {
      const r = await orig.apply(this, arguments);
      stats.ok++;
      return r;
    } catch (err) {
      stats.failures.push(`${JSON.stringify(req)} -> ${err.name}: ${err.message}`);
      throw err;
    }
  };
  return stats;
}

/**
 * Observes (does not change) calls of methods of an ali-ons client's own MQClient, e.g. 'sendHearbeat'
 * (sic), 'pullMessage', 'getConsumerIdListByGroup'. Returns the list of calls, each
 * {method, at, ok, status (pullStatus of a pull), result (a number result, e.g. of searchOffset),
 * args (withArgs; a MessageQueue is shown by its key), code and message (of a failure, as thrown by
 * ali-ons: code is the broker's response code)}. ok is undefined while the call is in flight. At most
 * `limit` calls are kept; `calls.total` counts all.
 */
function watchCalls(client, methods, { limit = 5000, withArgs = false } = {}) {
  const mq = client._mqClient;
  const calls = [];
  calls.total = 0;
  for (const m of methods) {
    const orig = mq[m];
    if (typeof orig !== 'function') throw new Error(`ali-ons MQClient has no method ${m}`);
    mq[m] = async function(...args) {
      const rec = { method: m, at: Date.now() };
      if (withArgs) rec.args = args.map(a => (a && typeof a === 'object' && a.key ? a.key : a));
      calls.total++;
      if (calls.length < limit) calls.push(rec);
      try {
        const r = await orig.apply(this, args);
        rec.ok = true;
        if (r && r.pullStatus) rec.status = r.pullStatus;
        if (typeof r === 'number') rec.result = r;
        return r;
      } catch (err) {
        rec.ok = false;
        rec.code = err && err.code;
        rec.message = err && String(err.message);
        throw err;
      }
    };
  }
  return calls;
}

/** queueIds of `topic` that the consumer currently pulls. */
function assignedQueues(consumer, topic) {
  return Array.from(consumer.processQueueTable.values())
    .filter(v => v.messageQueue.topic === topic)
    .map(v => v.messageQueue.queueId)
    .sort((a, b) => a - b);
}

/** Closes an ali-ons client once (later calls are no-ops), bounded in time. */
async function closeClient(client, what) {
  if (client.compatClosed) return;
  client.compatClosed = true;
  await withTimeout(client.close(), 20000, `close ${what}`);
}

// ---------------------------------------------------------------------------------------------
// Messages

/** Message i: tag cycles TagA/TagB/TagC, key key-<i>, user properties; some bodies > 4 KiB (compressed). */
function makeMessage(topic, i, { largeEvery = 250 } = {}) {
  const tags = TAGS[i % TAGS.length];
  let text = `ramjet compat message ${i} \u00e9\u2713`;
  if (largeEvery && i % largeEvery === 7) {
    const parts = [];
    for (let k = 0; parts.join('').length < 6000; k++) parts.push(`${i}:${k};`);
    text += parts.join('');
  }
  const body = Buffer.from(text, 'utf8');
  const msg = new Message(topic, tags, Buffer.from(body));
  msg.keys = [ `key-${i}` ];
  msg.properties[IDX_PROP] = String(i);
  msg.properties[USER_PROP] = `user-${i}-\u00fc`;
  return { msg, expected: { i, topic, tags, keys: `key-${i}`, user: `user-${i}-\u00fc`, body } };
}

/**
 * Sends messages [from, from+count) with `concurrency` sends in flight; decorate(msg, i, expected)
 * may change each message before it is sent. Returns
 * {expected: Map(i -> expected & sendResult), errors: [..], queues: Map(queueId -> count)}.
 */
async function sendMessages(producer, topic, from, count, { concurrency = 8, timeoutMs = 180000, largeEvery = 250, tracker = null, decorate = null } = {}) {
  const expected = new Map();
  const errors = [];
  const deadline = Date.now() + timeoutMs;
  let next = from;
  const end = from + count;
  const t0 = Date.now();
  const worker = async () => {
    while (next < end && Date.now() < deadline) {
      const i = next++;
      const { msg, expected: exp } = makeMessage(topic, i, { largeEvery });
      if (decorate) decorate(msg, i, exp); // e.g. extra user properties
      try {
        const r = await producer.send(msg);
        exp.sendResult = { sendStatus: r.sendStatus, msgId: r.msgId, queueId: Number(r.messageQueue.queueId), queueOffset: r.queueOffset };
        expected.set(i, exp);
        if (tracker) tracker.expectOne(i, exp);
      } catch (err) {
        errors.push(`send #${i}: ${err.name}: ${err.message}`);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  if (next < end) errors.push(`only ${next - from} of ${count} sends were attempted within ${timeoutMs} ms`);
  const secs = (Date.now() - t0) / 1000;
  console.error(`  sent ${expected.size}/${count} messages in ${secs.toFixed(1)} s (${Math.round(expected.size / secs)} msg/s), ${errors.length} errors`);
  return { expected, errors };
}

/** Checks on the send results: SEND_OK, distinct msgIds, distinct (queueId, queueOffset). */
function checkSendResults(t, what, sent, { queues }) {
  const { expected, errors } = sent;
  t.check(errors.length === 0, `${what}: every send succeeded`, errors.slice(0, 10));
  const notOk = [];
  const ids = new Map();
  const slots = new Map();
  const perQueue = new Map();
  for (const [ i, e ] of expected) {
    const r = e.sendResult;
    if (r.sendStatus !== 'SEND_OK') notOk.push(`#${i}: ${r.sendStatus}`);
    if (ids.has(r.msgId)) notOk.push(`#${i} and #${ids.get(r.msgId)} got the same msgId ${r.msgId}`);
    ids.set(r.msgId, i);
    const slot = `${r.queueId}@${r.queueOffset}`;
    if (slots.has(slot)) notOk.push(`#${i} and #${slots.get(slot)} got the same queueId@queueOffset ${slot}`);
    slots.set(slot, i);
    if (!(Number.isInteger(r.queueId) && r.queueId >= 0 && r.queueId < queues)) notOk.push(`#${i}: queueId ${r.queueId} outside 0..${queues - 1}`);
    if (!Number.isFinite(r.queueOffset) || r.queueOffset < 0) notOk.push(`#${i}: bad queueOffset ${r.queueOffset}`);
    if (!/^[0-9A-F]{32}$/.test(String(r.msgId))) notOk.push(`#${i}: msgId ${r.msgId} is not 32 upper-case hex characters (offset message id)`);
    perQueue.set(r.queueId, (perQueue.get(r.queueId) || 0) + 1);
  }
  t.check(notOk.length === 0, `${what}: send results are SEND_OK with unique msgIds and unique queue slots`, `${notOk.length} problems, first: ${notOk.slice(0, 8).join('; ')}`);
  const used = Array.from(perQueue.keys()).sort((a, b) => a - b);
  t.check(used.length === queues, `${what}: send results cover all ${queues} queues`, `queues used: ${JSON.stringify(Object.fromEntries(perQueue))}`);
  return perQueue;
}

/** Records deliveries and compares every delivered message with what was sent. */
class Tracker {
  constructor(topic) {
    this.topic = topic;
    this.expected = new Map();
    this.deliveries = new Map(); // i -> [{consumer, msgId, queueId, queueOffset, at}]
    this.mismatches = [];
    this.mismatchCount = 0;
    this.foreign = 0;
    this.byConsumer = new Map();
    this.total = 0;
    this.lastAt = 0;
  }

  expect(sent) {
    for (const [ i, e ] of sent.expected) this.expectOne(i, e);
  }

  expectOne(i, e) {
    this.expected.set(i, e);
  }

  /** Compares deliveries that arrived before their send result was known. */
  finalizeCompare() {
    const pending = this.pending || [];
    this.pending = [];
    for (const p of pending) {
      const e = this.expected.get(p.i);
      if (e) this.compare(p.consumerName, p.msg, e);
      else this._mismatch(`${p.consumerName}: received #${p.i} (msgId ${p.msg.msgId}) whose send did not succeed`);
    }
  }

  _mismatch(text) {
    this.mismatchCount++;
    if (this.mismatches.length < 20) this.mismatches.push(text);
  }

  /** Returns an async handler for consumer.subscribe(). Never throws (a throw would make ali-ons retry). */
  handler(consumerName) {
    return async msg => {
      try {
        this.record(consumerName, msg);
      } catch (err) {
        this._mismatch(`${consumerName}: handler error ${err.stack}`);
      }
    };
  }

  record(consumerName, msg) {
    this.total++;
    this.lastAt = Date.now();
    this.byConsumer.set(consumerName, (this.byConsumer.get(consumerName) || 0) + 1);
    const props = msg.properties || {};
    const i = Number(props[IDX_PROP]);
    if (!Number.isInteger(i)) {
      this.foreign++;
      this._mismatch(`${consumerName}: message without a valid ${IDX_PROP} property: msgId=${msg.msgId} topic=${msg.topic} ` +
        `queueId=${msg.queueId} queueOffset=${msg.queueOffset} properties=${JSON.stringify(props)}`);
      return;
    }
    let list = this.deliveries.get(i);
    if (!list) this.deliveries.set(i, list = []);
    list.push({ consumer: consumerName, msgId: msg.msgId, queueId: Number(msg.queueId), queueOffset: Number(msg.queueOffset), at: Date.now() });
    const e = this.expected.get(i);
    if (!e) {
      // the send result is not known yet (or the send failed): compare in finalizeCompare()
      (this.pending = this.pending || []).push({ i, consumerName, msg });
      return;
    }
    this.compare(consumerName, msg, e);
  }

  compare(consumerName, msg, e) {
    const diffs = [];
    const body = msg.body ? Buffer.from(msg.body) : Buffer.alloc(0);
    if (!body.equals(e.body)) {
      diffs.push(`body ${body.length} bytes ${JSON.stringify(body.toString('utf8').slice(0, 60))} != sent ${e.body.length} bytes ${JSON.stringify(e.body.toString('utf8').slice(0, 60))}`);
    }
    if (msg.topic !== e.topic) diffs.push(`topic ${msg.topic} != ${e.topic}`);
    if (msg.tags !== e.tags) diffs.push(`tags ${JSON.stringify(msg.tags)} != ${e.tags}`);
    if (msg.keys !== e.keys) diffs.push(`keys ${JSON.stringify(msg.keys)} != ${e.keys}`);
    if (msg.properties[USER_PROP] !== e.user) diffs.push(`${USER_PROP} ${JSON.stringify(msg.properties[USER_PROP])} != ${JSON.stringify(e.user)}`);
    if (Number(msg.reconsumeTimes) !== 0) diffs.push(`reconsumeTimes ${msg.reconsumeTimes} != 0`);
    const r = e.sendResult;
    if (r) {
      if (Number(msg.queueId) !== r.queueId) diffs.push(`queueId ${msg.queueId} != send result ${r.queueId}`);
      if (Number(msg.queueOffset) !== r.queueOffset) diffs.push(`queueOffset ${msg.queueOffset} != send result ${r.queueOffset}`);
      if (msg.msgId !== r.msgId) diffs.push(`msgId ${msg.msgId} (decoded from the stored record) != send result msgId ${r.msgId}`);
    }
    if (diffs.length) this._mismatch(`${consumerName} #${e.i}: ${diffs.join('; ')}`);
  }

  /** Indices in [from, to) that were sent successfully but not delivered yet. */
  missing(from, to) {
    const out = [];
    for (let i = from; i < to; i++) {
      if (this.expected.has(i) && !this.deliveries.has(i)) out.push(i);
    }
    return out;
  }

  /** Duplicate statistics over [from, to). */
  duplicates(from, to) {
    let redelivered = 0; // extra deliveries of the same stored message (same msgId)
    let crossConsumer = 0; // ... of which went to a different consumer than the first delivery
    let stored = 0; // indices stored more than once (distinct msgIds: producer retries)
    const examples = [];
    for (let i = from; i < to; i++) {
      const list = this.deliveries.get(i);
      if (!list || list.length < 2) continue;
      const ids = new Set(list.map(d => d.msgId));
      if (ids.size > 1) stored++;
      for (const id of ids) {
        const same = list.filter(d => d.msgId === id);
        redelivered += same.length - 1;
        crossConsumer += same.filter(d => d.consumer !== same[0].consumer).length;
      }
      if (examples.length < 5) examples.push(`#${i}: ${list.map(d => `${d.consumer} q${d.queueId}@${d.queueOffset}`).join(', ')}`);
    }
    return { redelivered, crossConsumer, stored, examples };
  }

  describeMissing(list) {
    const byQueue = new Map();
    for (const i of list) {
      const r = this.expected.get(i).sendResult;
      const q = r ? r.queueId : '?';
      if (!byQueue.has(q)) byQueue.set(q, []);
      byQueue.get(q).push(r ? r.queueOffset : '?');
    }
    const parts = [];
    for (const [ q, offs ] of byQueue) {
      offs.sort((a, b) => a - b);
      parts.push(`queue ${q}: ${offs.length} missing, offsets ${offs.slice(0, 6).join(',')}${offs.length > 6 ? ',...' : ''}`);
    }
    return `${list.length} missing (first: ${list.slice(0, 10).map(i => `#${i}`).join(' ')}); ${parts.join('; ')}`;
  }
}

module.exports = {
  Producer,
  Consumer,
  Message,
  TAGS,
  IDX_PROP,
  USER_PROP,
  makeProducer,
  makeConsumer,
  clientId,
  assignedQueues,
  watchSendBack,
  watchCalls,
  closeClient,
  makeMessage,
  sendMessages,
  checkSendResults,
  Tracker,
  printProblemSummary,
  problemSummary,
};
