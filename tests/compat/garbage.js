'use strict';
// Malformed and unusual frames against both servers: they must close broken connections, answer
// unknown codes with REQUEST_CODE_NOT_SUPPORTED, accept non-string extFields, and keep serving
// real clients afterwards.

const net = require('net');
const { runTest, step } = require('./lib/harness');
const cluster = require('./lib/cluster');
const rm = require('./lib/remoting');
const ons = require('./lib/ons');
const common = require('./lib/common');

const TOPIC = 'CompatGarbageTopic';
const GROUP = 'CID_RAMJET_COMPAT_GARBAGE';
const QUEUES = 8;
const N = 100;
const CLOSE_WITHIN_MS = 5000;

/** Deterministic bytes (mulberry32). */
function randomBytes(n, seed) {
  let a = seed >>> 0;
  const out = Buffer.alloc(n);
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    out[i] = ((x ^ (x >>> 14)) >>> 0) & 0xff;
  }
  return out;
}

/**
 * Connects, writes the payloads, optionally half-closes (end) or resets (destroy) after
 * endAfterMs, and waits up to waitMs for the server to close. Returns
 * {closed, byServerFirst, afterMs, received, error}.
 */
function rawExchange(addr, payloads, { end = null, endAfterMs = 0, waitMs = CLOSE_WITHIN_MS } = {}) {
  const i = addr.lastIndexOf(':');
  return new Promise(resolve => {
    const sock = net.connect({ host: addr.slice(0, i), port: Number(addr.slice(i + 1)) });
    const chunks = [];
    let sentAt = 0;
    let endedAt = null;
    let closedAt = null;
    let error = null;
    let timer = null;
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve({
        closed: closedAt !== null,
        byServerFirst: closedAt !== null && (endedAt === null || closedAt < endedAt),
        afterMs: closedAt !== null ? closedAt - sentAt : null,
        received: Buffer.concat(chunks),
        error: error && (error.code || error.message),
      });
    };
    sock.on('data', d => chunks.push(d));
    sock.on('error', e => {
      error = e;
    });
    sock.on('close', () => {
      closedAt = Date.now();
      finish();
    });
    sock.on('connect', () => {
      sentAt = Date.now();
      for (const p of payloads) sock.write(p);
      if (end) {
        setTimeout(() => {
          if (done || closedAt !== null) return;
          endedAt = Date.now();
          if (end === 'destroy') {
            sock.destroy();
          } else {
            sock.end();
          }
        }, endAfterMs);
      }
      timer = setTimeout(finish, endAfterMs + waitMs);
    });
  });
}

function describeReceived(buf) {
  if (!buf.length) return 'nothing';
  try {
    const frames = new rm.FrameDecoder().push(buf);
    if (frames.length) return frames.map(f => `frame code=${f.code} opaque=${f.opaque} remark=${JSON.stringify(f.remark)}`).join('; ');
  } catch (err) {
    // fall through
  }
  return `${buf.length} bytes ${buf.subarray(0, 48).toString('hex')}`;
}

/** A request on a fresh connection that must be answered with SUCCESS (server health probe). */
async function healthy(server, probe) {
  if (!server.alive) return `process is dead (${server.describeExit()})`;
  try {
    const res = await rm.request(server.addr, probe.code, probe.extFields, null, { timeoutMs: 5000 });
    return res.code === 0 ? null : `probe code ${probe.code} answered code=${res.code} remark=${JSON.stringify(res.remark)}`;
  } catch (err) {
    return `probe failed: ${err.message}`;
  }
}

async function malformedCases(t, server, label, probe) {
  const addr = server.addr;
  const check = async (name, res, expectation) => {
    const received = describeReceived(res.received);
    const how = res.closed ? `${res.byServerFirst ? 'closed by the server' : 'closed after our FIN/RST'} after ${res.afterMs} ms` : `still open after ${CLOSE_WITHIN_MS} ms`;
    t.check(expectation(res), `${label}: ${name} -> connection closed (${how}; received ${received}${res.error ? `; socket error ${res.error}` : ''})`);
    const sick = await healthy(server, probe);
    t.check(sick === null, `${label}: still serving after "${name}"`, sick);
  };

  // 1. Random bytes (deterministic), then our FIN after 1.5 s.
  const rnd = randomBytes(4096, label === 'namesrv' ? 0x5eed1 : 0x5eed2);
  let res = await rawExchange(addr, [ rnd ], { end: 'end', endAfterMs: 1500 });
  await check(`4096 random bytes (length field 0x${rnd.readUInt32BE(0).toString(16)}) then FIN`, res, r => r.closed);

  // 2. Truncated frame, then FIN.
  const full = rm.encodeRequest({ code: 105, opaque: 11, extFields: { topic: TOPIC } });
  res = await rawExchange(addr, [ full.subarray(0, Math.floor(full.length / 2)) ], { end: 'end', endAfterMs: 200 });
  await check(`truncated frame (${Math.floor(full.length / 2)} of ${full.length} bytes) then FIN`, res, r => r.closed);

  // 2b. Truncated frame, then reset.
  await rawExchange(addr, [ full.subarray(0, 10) ], { end: 'destroy', endAfterMs: 100, waitMs: 500 });
  const sick = await healthy(server, probe);
  t.check(sick === null, `${label}: still serving after "truncated frame then RST"`, sick);

  // 3. Length field 0x7fffffff: the server must close without waiting for 2 GiB.
  const big = Buffer.alloc(4 + 4 + 64);
  big.writeUInt32BE(0x7fffffff, 0);
  big.writeUInt32BE(40, 4);
  Buffer.from('{"code":105,"opaque":12,"flag":0,"extF').copy(big, 8);
  res = await rawExchange(addr, [ big ]);
  await check('length field 0x7fffffff (oversized frame)', res, r => r.closed && r.byServerFirst);

  // 4. Header length larger than the frame.
  const hdrLong = Buffer.alloc(4 + 4 + 10);
  hdrLong.writeInt32BE(4 + 10, 0);
  hdrLong.writeInt32BE(1000, 4);
  Buffer.from('{"code":10').copy(hdrLong, 8);
  res = await rawExchange(addr, [ hdrLong ]);
  await check('header length 1000 in a 14-byte frame', res, r => r.closed && r.byServerFirst);

  // 5. Header that is not JSON.
  res = await rawExchange(addr, [ rm.encodeRaw(Buffer.from('{"code":105,"opaque":13,,,not json', 'utf8')) ]);
  await check('invalid JSON header', res, r => r.closed && r.byServerFirst);

  // 6. Length field 0 (shorter than the header-length word).
  res = await rawExchange(addr, [ Buffer.from([ 0, 0, 0, 0 ]) ]);
  await check('length field 0', res, r => r.closed && r.byServerFirst);
}

async function wellFormedCases(t, server, label, nonStringRequests) {
  // Unknown request code: REQUEST_CODE_NOT_SUPPORTED (3), same opaque, connection stays usable.
  const conn = new rm.Connection(server.addr);
  await conn.connect();
  try {
    const opaque = 990001;
    let res;
    try {
      res = await conn.request(9999, { foo: 'bar' }, null, { opaque, timeoutMs: 5000 });
    } catch (err) {
      res = { error: err.message };
    }
    t.check(res.code === 3 && res.opaque === opaque && (res.flag & 1) === 1,
      `${label}: unknown request code 9999 -> response code 3 (REQUEST_CODE_NOT_SUPPORTED) with opaque ${opaque}`,
      res.error || `got code=${res.code} opaque=${res.opaque} flag=${res.flag} remark=${JSON.stringify(res.remark)} header=${res.headerText}`);
    let again;
    try {
      again = await conn.request(9998, {}, null, { opaque: opaque + 1, timeoutMs: 5000 });
    } catch (err) {
      again = { error: err.message };
    }
    t.check(again.code === 3 && again.opaque === opaque + 1, `${label}: the connection still works after the unknown code`,
      again.error || `code=${again.code} opaque=${again.opaque}`);

    // extFields with JSON numbers and booleans must be accepted and answered.
    for (const r of nonStringRequests) {
      const op = rm.newOpaque();
      let out;
      try {
        out = await conn.request(r.code, r.extFields, null, { opaque: op, timeoutMs: 5000 });
      } catch (err) {
        out = { error: err.message };
      }
      const ok = !out.error && out.opaque === op && (r.expectCode === undefined || out.code === r.expectCode) && (!r.verify || r.verify(out));
      t.check(ok, `${label}: code ${r.code} with extFields ${JSON.stringify(r.extFields)} answered${r.expectCode !== undefined ? ` with code ${r.expectCode}` : ''}${r.what ? ` (${r.what})` : ''}`,
        out.error || `got code=${out.code} opaque=${out.opaque} remark=${JSON.stringify(out.remark)} extFields=${JSON.stringify(out.extFields)} body=${out.body && out.body.toString('utf8').slice(0, 200)}`);
    }
  } finally {
    conn.close();
  }
}

runTest('garbage', async t => {
  step('start name server and broker');
  const c = await cluster.startCluster();
  t.tempDir(c.dir);
  await common.createTopicAndWait(t, c, TOPIC, QUEUES);

  const nsProbe = { code: 105, extFields: { topic: TOPIC } };
  const brokerProbe = { code: 30, extFields: { topic: TOPIC, queueId: '0' } };

  step('malformed frames to the name server');
  await malformedCases(t, c.namesrv, 'namesrv', nsProbe);
  step('malformed frames to the broker');
  await malformedCases(t, c.broker, 'broker', brokerProbe);

  step('unknown code and non-string extFields, name server');
  await wellFormedCases(t, c.namesrv, 'namesrv', [
    { code: 105, extFields: { topic: TOPIC, acceptStandardJsonOnly: true }, expectCode: 0, what: 'boolean field, route returned' },
    { code: 105, extFields: { topic: 12345 }, what: 'numeric topic, any answer' },
    { code: 30, extFields: { topic: 'T', queueId: 0 }, what: 'broker-only code, any answer' },
  ]);
  step('unknown code and non-string extFields, broker');
  await wellFormedCases(t, c.broker, 'broker', [
    { code: 30, extFields: { topic: TOPIC, queueId: 0 }, expectCode: 0, verify: r => Number(r.extFields.offset) === 0, what: 'numeric queueId, offset 0' },
    { code: 30, extFields: { topic: TOPIC, queueId: 3, committed: true }, expectCode: 0, verify: r => Number(r.extFields.offset) === 0, what: 'numeric + boolean' },
    { code: 30, extFields: { topic: 'T', queueId: 0 }, what: 'unknown topic, any answer' },
    { code: 14, extFields: { topic: TOPIC, consumerGroup: 'G', queueId: 1 }, what: 'QUERY_CONSUMER_OFFSET with numeric queueId, any answer' },
  ]);

  t.check(c.namesrv.alive, 'name server process is still alive', c.namesrv.describeExit());
  t.check(c.broker.alive, 'broker process is still alive', c.broker.describeExit());
  if (!c.namesrv.alive || !c.broker.alive) t.fatal('a server died; the normal-client check is pointless');

  step(`a normal client still works: ${N} messages through ali-ons`);
  const tracker = new ons.Tracker(TOPIC);
  const producer = await ons.makeProducer(c.nsAddr, { instanceName: 'compat-producer' });
  t.cleanup(() => ons.closeClient(producer, 'producer'));
  const consumer = await ons.makeConsumer(c.nsAddr, { group: GROUP, instanceName: 'compat-g1' });
  t.cleanup(() => ons.closeClient(consumer, 'consumer'));
  consumer.subscribe(TOPIC, '*', tracker.handler('compat-g1'));
  const sent = await ons.sendMessages(producer, TOPIC, 0, N, { tracker, largeEvery: 0 });
  ons.checkSendResults(t, `${N} messages`, sent, { queues: QUEUES });
  const w = await common.waitDelivered(tracker, 0, N, { timeoutMs: 60000, stallMs: 30000 });
  tracker.finalizeCompare();
  t.check(w.missing.length === 0, `the consumer received all ${N} messages`, w.missing.length ? `${w.reason}: ${tracker.describeMissing(w.missing)}` : undefined);
  t.check(tracker.mismatchCount === 0, 'every delivered message matches what was sent',
    `${tracker.mismatchCount} mismatches, first: ${tracker.mismatches.slice(0, 10).join('\n    ')}`);

  step('shut down');
  await ons.closeClient(consumer, 'consumer');
  await ons.closeClient(producer, 'producer');
  t.check(c.namesrv.alive && c.broker.alive, 'both server processes are alive at the end');
  await common.stopChecked(t, c.broker, 'broker');
  await common.stopChecked(t, c.namesrv, 'name server');
  ons.printProblemSummary();
}, { timeoutMs: 300000 });
