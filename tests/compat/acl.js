'use strict';
// ACL 1.0 (RocketMQ plain_acl.yml) with ali-ons's own request signing (options accessKeyId /
// accessKeySecret; lib/channel.js adds AccessKey, OnsChannel=ALIYUN and Signature = Base64
// HmacSHA1(secret, the values of AccessKey, OnsChannel and the request header fields sorted by
// key, then the body): Apache's AclClientRPCHook without SecurityToken plus OnsChannel, and what
// Apache's PlainAccessValidator recomputes over all extFields but Signature). The broker runs with
// aclEnable=true and a plain_acl.yml written here.
//   - the right account (PUB|SUB on the topic, SUB on the group) sends N messages and its push
//     consumer receives exactly them; none of its heartbeats, pulls or offset calls is refused;
//   - sends refused with NO_PERMISSION (16) and RocketMQ's text: wrong secret, unknown access key,
//     topic DENY, an account without PUB, a white-address miss with a wrong secret, no credentials;
//   - an account's own white address (127.0.0.1) passes without a valid signature, and a white
//     address that does not match only means the signature is checked (as Apache);
//   - an admin request (UPDATE_AND_CREATE_TOPIC, ali-ons's MQClient.createTopic) from a non-admin
//     account is refused with 16; the admin account's is accepted;
//   - consumers with a wrong secret (same group) or without SUB on their group receive nothing,
//     and their requests are refused with 16;
//   - afterwards ramjet-admin (admin account from RAMJET_ACCESS_KEY / RAMJET_SECRET_KEY) prints
//     exactly the accepted messages of the topic and none of the denied topic, GET_MAX_OFFSET (as
//     the admin account, through ali-ons) agrees, and the group's committed offsets reach the max
//     offsets.
// Before any of that, ali-ons's signature of a sample request is recomputed as Apache's
// PlainAccessValidator does it from the frame ali-ons encodes (all extFields but Signature, sorted
// by key, then the body).

const childProcess = require('child_process');
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');
const { runTest, step, waitFor, withTimeout } = require('./lib/harness');
const cluster = require('./lib/cluster');
const rm = require('./lib/remoting');
const ons = require('./lib/ons');
const common = require('./lib/common');

const TOPIC = 'CompatAclTopic';
const DENY_TOPIC = 'CompatAclDenyTopic';
const INTRUDER_TOPIC = 'CompatAclIntruderTopic';
const GROUP = 'CID_RAMJET_COMPAT_ACL';
const OTHER_GROUP = 'CID_RAMJET_COMPAT_ACL_OTHER';
const QUEUES = 2;
const N = Number(process.env.COMPAT_MESSAGES || 50);
const NO_PERMISSION = 16;
const REFUSED_BASE = 1000; // message indices of refused sends
const ACCEPTED_BASE = 2000; // message indices of the accepted white-address sends

const ADMIN = { accessKeyId: 'compatAdmin', accessKeySecret: 'adminSecret123' };
const USER = { accessKeyId: 'compatUser', accessKeySecret: 'userSecret123' };
const READER = { accessKeyId: 'compatReader', accessKeySecret: 'readerSecret123' };
const FAR = { accessKeyId: 'compatFar', accessKeySecret: 'farSecret123' };
const NEAR = { accessKeyId: 'compatNear', accessKeySecret: 'nearSecret123' };

const ACL_YAML = [
  'globalWhiteRemoteAddresses:',
  'accounts:',
  `  - accessKey: ${ADMIN.accessKeyId}`,
  `    secretKey: ${ADMIN.accessKeySecret}`,
  '    admin: true',
  `  - accessKey: ${USER.accessKeyId}`,
  `    secretKey: ${USER.accessKeySecret}`,
  '    whiteRemoteAddress:',
  '    admin: false',
  '    defaultTopicPerm: DENY',
  '    defaultGroupPerm: DENY',
  '    topicPerms:',
  `      - ${TOPIC}=PUB|SUB`,
  `      - ${DENY_TOPIC}=DENY`,
  '    groupPerms:',
  `      - ${GROUP}=SUB`,
  `  - accessKey: ${READER.accessKeyId}`, // every topic and group, but SUB only
  `    secretKey: ${READER.accessKeySecret}`,
  '    admin: false',
  '    defaultTopicPerm: SUB',
  '    defaultGroupPerm: SUB',
  `  - accessKey: ${FAR.accessKeyId}`, // white address elsewhere: the signature is checked
  `    secretKey: ${FAR.accessKeySecret}`,
  '    whiteRemoteAddress: 10.9.9.9',
  '    admin: false',
  '    defaultTopicPerm: PUB|SUB',
  '    defaultGroupPerm: SUB',
  `  - accessKey: ${NEAR.accessKeyId}`, // white address 127.0.0.1: no signature needed
  `    secretKey: ${NEAR.accessKeySecret}`,
  '    whiteRemoteAddress: 127.0.0.1',
  '    admin: false',
  '    defaultTopicPerm: PUB',
  '',
].join('\n');

/** Sends that the broker must refuse with 16 and the given text (RocketMQ's). */
const REFUSED_SENDS = [
  { what: 'wrong secret', creds: { accessKeyId: USER.accessKeyId, accessKeySecret: 'notTheSecret1' }, topic: TOPIC,
    remark: `Check signature failed for accessKey=${USER.accessKeyId}` },
  { what: 'unknown access key', creds: { accessKeyId: 'compatNobody', accessKeySecret: USER.accessKeySecret }, topic: TOPIC,
    remark: 'No acl config for compatNobody' },
  { what: 'topic DENY for the account', creds: USER, topic: DENY_TOPIC,
    remark: `No default permission for topic:${DENY_TOPIC}` },
  { what: 'account without PUB (SUB only)', creds: READER, topic: TOPIC,
    remark: `No default permission for topic:${TOPIC}` },
  { what: 'white-address miss (account limited to 10.9.9.9) with a wrong secret', creds: { accessKeyId: FAR.accessKeyId, accessKeySecret: 'wrongSecret99' }, topic: TOPIC,
    remark: `Check signature failed for accessKey=${FAR.accessKeyId}` },
  { what: 'no credentials (ali-ons does not sign)', creds: null, topic: TOPIC,
    remark: 'No accessKey is configured' },
];

/** Sends that the broker must accept although they are not signed with the right secret. */
const ACCEPTED_SENDS = [
  { what: "the account's own white address 127.0.0.1, wrong secret", creds: { accessKeyId: NEAR.accessKeyId, accessKeySecret: 'notItsSecret1' } },
  { what: 'white address elsewhere (10.9.9.9), right secret: the signature decides (as Apache)', creds: FAR },
];

const isNoPermission = err => !!err && err.code === NO_PERMISSION;
// The first route lookup of a new group's %RETRY% topic fails (no route until the broker creates it
// on the first heartbeat), as in retry_dlq.js.
const isRetryRouteMiss = err => !!err && err.code === 17 && /%RETRY%/.test(err.message);
// Heartbeats every second, so that the test sees them (ali-ons ignores a refused heartbeat).
const CONSUMER_OPTIONS = { heartbeatBrokerInterval: 1000 };

/**
 * Signs a sample SEND_MESSAGE_V2 with ali-ons's own Channel.beforeRequest, encodes it as ali-ons
 * sends it, and recomputes the signature from the decoded frame as Apache's PlainAccessValidator
 * does (AclUtils.combineRequestContent: the values of every extField but Signature, in key order,
 * then the body; HmacSHA1, Base64).
 */
function signatureSample() {
  const Channel = require('ali-ons/lib/channel');
  const RemotingCommand = require('ali-ons/lib/protocol/command/remoting_command');
  const header = { a: 'PID_SIGN', b: TOPIC, c: 'TBW102', d: 4, e: 1, f: 0, g: 1700000000123, h: 0, i: 'KEYS\u0001k-1\u0002compat_user\u0001\u00fc\u0002', j: 0, k: false, l: undefined, m: null };
  const command = RemotingCommand.createRequestCommand(310, header);
  command.body = Buffer.from('Hello RocketMQ \u00e9', 'utf8');
  const self = { accessKey: USER.accessKeyId, secretKey: USER.accessKeySecret, onsChannel: 'ALIYUN' };
  Channel.prototype.beforeRequest.call(self, command); // uses only these three getters
  const frame = rm.decodeFrameBody(command.encode().subarray(4));
  const ext = frame.extFields;
  const content = Object.keys(ext).filter(k => k !== 'Signature').sort()
    .map(k => (typeof ext[k] === 'string' ? ext[k] : JSON.stringify(ext[k]))) // fastjson's HashMap<String,String> view
    .join('');
  const apache = crypto.createHmac('sha1', USER.accessKeySecret).update(Buffer.concat([ Buffer.from(content, 'utf8'), frame.body ])).digest('base64');
  return { ext, signature: ext.Signature, apache };
}

/** ramjet-admin with the given account in RAMJET_ACCESS_KEY / RAMJET_SECRET_KEY (none: unset). */
function ramjetAdmin(args, creds) {
  const env = Object.assign({}, process.env);
  delete env.RAMJET_ACCESS_KEY;
  delete env.RAMJET_SECRET_KEY;
  if (creds) {
    env.RAMJET_ACCESS_KEY = creds.accessKeyId;
    env.RAMJET_SECRET_KEY = creds.accessKeySecret;
  }
  const bin = path.join(cluster.BIN_DIR, 'ramjet-admin');
  return new Promise(resolve => {
    childProcess.execFile(bin, args, { env, timeout: 30000, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : `${err.code || ''} ${err.signal || ''}`.trim()) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr), command: `ramjet-admin ${args.join(' ')}` });
    });
  });
}

/** The message indices that `ramjet-admin printMsg` shows for a topic, and its total line. */
async function storedIndices(nsAddr, topic) {
  const r = await ramjetAdmin([ 'printMsg', '-n', nsAddr, '-t', topic ], ADMIN);
  const indices = [];
  const other = [];
  let total = null;
  for (const line of r.stdout.split('\n')) {
    const m = /^MSGID: \S+ \S+ BODY: ramjet compat message (\d+) /.exec(line);
    if (m) indices.push(Number(m[1]));
    else if (/^MSGID:/.test(line)) other.push(line.slice(0, 200));
    const c = /^Consumed (\d+) messages/.exec(line);
    if (c) total = Number(c[1]);
  }
  indices.sort((a, b) => a - b);
  return { r, indices, other, total };
}

/** A producer that is expected to be refused: ready() must still work (its heartbeats are ignored). */
async function makeClientProducer(c, name, creds) {
  const options = creds ? Object.assign({}, creds) : {};
  return ons.makeProducer(c.nsAddr, { group: `PID_RAMJET_COMPAT_ACL_${name.replace(/\W/g, '_').toUpperCase()}`, instanceName: `compat-acl-${name}`, options });
}

/** Closes a client whose requests may be refused; a refused UNREGISTER_CLIENT (16) is expected. */
async function closeQuietly(client, what) {
  try {
    await ons.closeClient(client, what);
    return null;
  } catch (err) {
    return err;
  }
}

runTest('acl', async t => {
  step('ali-ons signs as Apache\'s validator checks');
  const sample = signatureSample();
  t.check(sample.ext.AccessKey === USER.accessKeyId && sample.ext.OnsChannel === 'ALIYUN' && typeof sample.signature === 'string',
    'ali-ons adds AccessKey, OnsChannel (ALIYUN) and Signature to the extFields', sample.ext);
  t.check(sample.signature === sample.apache,
    'its Signature = Base64 HmacSHA1(secret, values of all other extFields in key order (OnsChannel included; numbers and booleans as text, undefined/null left out) + body)',
    { aliOns: sample.signature, apache: sample.apache, extFields: sample.ext });

  step('write plain_acl.yml; start name server and broker with aclEnable=true');
  const aclDir = t.tempDir(cluster.makeTempDir('ramjet-compat-acl-'));
  const aclFile = path.join(aclDir, 'plain_acl.yml');
  fs.writeFileSync(aclFile, ACL_YAML);
  const c = await cluster.startCluster({ brokerArgs: [ '--aclEnable=true', `--aclFilePath=${aclFile}`, '--dashboardPort=-1' ] });
  t.tempDir(c.dir);

  // ------------------------------------------------------------------------------------------
  step(`admin account creates ${TOPIC} (${QUEUES} queues) and ${DENY_TOPIC} (1 queue) with ali-ons's UPDATE_AND_CREATE_TOPIC`);
  const admin = await makeClientProducer(c, 'admin', ADMIN);
  t.cleanup(() => closeQuietly(admin, 'admin producer'));
  const topicConfig = (topicName, queues) => ({ topicName, readQueueNums: queues, writeQueueNums: queues, perm: 6, topicFilterType: 'SINGLE_TAG', topicSysFlag: 0, order: false });
  for (const [ topic, queues ] of [ [ TOPIC, QUEUES ], [ DENY_TOPIC, 1 ] ]) {
    try {
      await admin._mqClient.createTopic(c.brokerAddr, 'TBW102', topicConfig(topic, queues), 5000);
      t.check(true, `admin account (${ADMIN.accessKeyId}): UPDATE_AND_CREATE_TOPIC ${topic} accepted`);
    } catch (err) {
      t.fatal(`admin account (${ADMIN.accessKeyId}): UPDATE_AND_CREATE_TOPIC ${topic} accepted`, `code=${err.code} ${err.message}`);
    }
    const route = await rm.waitRoute(c.nsAddr, topic, { queues, timeoutMs: 30000 });
    common.checkRoute(t, route, c, topic, queues);
  }

  // ------------------------------------------------------------------------------------------
  step(`consumers: the right account on ${GROUP}, a wrong secret on ${GROUP}, the right account on ${OTHER_GROUP} (no SUB on that group)`);
  const tracker = new ons.Tracker(TOPIC);
  const consumer = await ons.makeConsumer(c.nsAddr, { group: GROUP, instanceName: 'compat-acl-c-ok', options: Object.assign({}, CONSUMER_OPTIONS, USER), isExpectedError: isRetryRouteMiss });
  t.cleanup(() => closeQuietly(consumer, 'consumer'));
  const okCalls = ons.watchCalls(consumer, [ 'sendHearbeat', 'pullMessage', 'queryConsumerOffset', 'getConsumerIdListByGroup', 'updateConsumerOffsetOneway' ]);
  consumer.subscribe(TOPIC, '*', tracker.handler('ok'));

  const intruders = [];
  for (const spec of [
    { name: 'wrong-secret', group: GROUP, creds: { accessKeyId: USER.accessKeyId, accessKeySecret: 'notTheSecret1' },
      remark: `Check signature failed for accessKey=${USER.accessKeyId}` },
    { name: 'no-group-perm', group: OTHER_GROUP, creds: USER, remark: `No default permission for group:${OTHER_GROUP}` },
  ]) {
    const events = [];
    const cons = await ons.makeConsumer(c.nsAddr, { group: spec.group, instanceName: `compat-acl-c-${spec.name}`, options: Object.assign({}, CONSUMER_OPTIONS, spec.creds),
      isExpectedError: err => { events.push(err); return isNoPermission(err) || isRetryRouteMiss(err); } });
    t.cleanup(() => closeQuietly(cons, `consumer ${spec.name}`));
    const calls = ons.watchCalls(cons, [ 'sendHearbeat', 'pullMessage', 'queryConsumerOffset', 'getConsumerIdListByGroup' ]);
    const received = [];
    cons.subscribe(TOPIC, '*', async msg => { received.push(msg.msgId); });
    intruders.push(Object.assign({ cons, calls, events, received }, spec));
  }

  // ------------------------------------------------------------------------------------------
  step(`the right account (${USER.accessKeyId}: PUB|SUB on ${TOPIC}, SUB on ${GROUP}) sends ${N} messages`);
  const producer = await makeClientProducer(c, 'user', USER);
  t.cleanup(() => closeQuietly(producer, 'user producer'));
  const sendCalls = ons.watchCalls(producer, [ 'sendMessage', 'sendHearbeat' ]);
  const sent = await ons.sendMessages(producer, TOPIC, 0, N, { largeEvery: 0, concurrency: 4, tracker });
  ons.checkSendResults(t, `${N} messages of ${USER.accessKeyId}`, sent, { queues: QUEUES });
  const refusedUser = sendCalls.filter(x => x.ok === false);
  t.check(refusedUser.length === 0, `no request of the right producer was refused (${sendCalls.total} observed)`, refusedUser.slice(0, 5));

  // ------------------------------------------------------------------------------------------
  step('refused sends: every attempt must fail, and ali-ons must have got NO_PERMISSION (16) with the reason');
  for (let k = 0; k < REFUSED_SENDS.length; k++) {
    const r = REFUSED_SENDS[k];
    const p = await makeClientProducer(c, `bad-${k}`, r.creds);
    const calls = ons.watchCalls(p, [ 'sendMessage' ]);
    const { msg } = ons.makeMessage(r.topic, REFUSED_BASE + k, { largeEvery: 0 });
    let result = null;
    let error = null;
    try {
      result = await withTimeout(p.send(msg), 20000, `send (${r.what})`);
    } catch (err) {
      error = err;
    }
    const answers = calls.map(x => `ok=${x.ok} code=${x.code} ${JSON.stringify(x.message)}`);
    t.check(!result && !!error, `${r.what}: producer.send() to ${r.topic} fails`,
      result ? `sent: ${JSON.stringify(result)}` : undefined);
    if (error) t.note(`${r.what}: ali-ons's send() rejects with ${error.name}: ${JSON.stringify(error.message)} (code ${error.code})`);
    t.check(calls.length > 0 && calls.every(x => x.ok === false && x.code === NO_PERMISSION && String(x.message).includes(r.remark)),
      `${r.what}: every SEND_MESSAGE_V2 answered NO_PERMISSION (16) "${r.remark}"`, answers);
    await closeQuietly(p, `producer ${r.what}`);
  }

  step('sends that pass on the account\'s white address');
  const accepted = new Map(); // index -> expected
  for (let k = 0; k < ACCEPTED_SENDS.length; k++) {
    const a = ACCEPTED_SENDS[k];
    const p = await makeClientProducer(c, `white-${k}`, a.creds);
    const i = ACCEPTED_BASE + k;
    const { msg, expected } = ons.makeMessage(TOPIC, i, { largeEvery: 0 });
    try {
      const r = await withTimeout(p.send(msg), 20000, `send (${a.what})`);
      expected.sendResult = { sendStatus: r.sendStatus, msgId: r.msgId, queueId: Number(r.messageQueue.queueId), queueOffset: r.queueOffset };
      accepted.set(i, expected);
      tracker.expectOne(i, expected);
      t.check(r.sendStatus === 'SEND_OK', `${a.what} (${a.creds.accessKeyId}): SEND_OK`, r);
    } catch (err) {
      t.check(false, `${a.what} (${a.creds.accessKeyId}): SEND_OK`, `${err.name}: ${err.message}`);
    }
    await closeQuietly(p, `producer ${a.what}`);
  }

  // ------------------------------------------------------------------------------------------
  step(`admin request from a non-admin account: ali-ons's MQClient.createTopic(${INTRUDER_TOPIC}) as ${USER.accessKeyId}`);
  let adminErr = null;
  try {
    await producer._mqClient.createTopic(c.brokerAddr, 'TBW102', topicConfig(INTRUDER_TOPIC, 1), 5000);
  } catch (err) {
    adminErr = err;
  }
  const adminText = `Need admin permission for request code=17, but accessKey=${USER.accessKeyId} is not`;
  t.check(isNoPermission(adminErr) && String(adminErr.message).includes(adminText),
    `UPDATE_AND_CREATE_TOPIC by ${USER.accessKeyId} rejected with code 16 "${adminText}"`,
    adminErr ? `code=${adminErr.code} ${adminErr.name}: ${adminErr.message}` : 'it was accepted');

  // ------------------------------------------------------------------------------------------
  step(`the right consumer receives exactly the ${N + accepted.size} accepted messages`);
  const want = [ ...Array.from({ length: N }, (_, i) => i), ...accepted.keys() ];
  const w = await waitFor(() => want.every(i => tracker.deliveries.has(i)), { timeoutMs: 60000, intervalMs: 200 });
  t.check(!!w, `all ${want.length} accepted messages delivered to ${GROUP}`, `missing: ${want.filter(i => !tracker.deliveries.has(i)).slice(0, 20).join(' ')}`);
  await rm.sleep(3000); // a refused message or a duplicate would show up here
  tracker.finalizeCompare();
  const got = Array.from(tracker.deliveries.keys()).sort((a, b) => a - b);
  const extra = got.filter(i => !want.includes(i));
  t.check(extra.length === 0 && tracker.foreign === 0, 'no refused message was delivered', { extra, foreign: tracker.foreign });
  const dups = Array.from(tracker.deliveries.entries()).filter(([ , l ]) => l.length > 1).map(([ i, l ]) => `#${i} x${l.length}`);
  t.check(dups.length === 0, 'every accepted message delivered once', dups.slice(0, 10));
  t.check(tracker.mismatches.length === 0, 'every delivered message unchanged (body, tags, keys, user property, queue slot, msgId)',
    tracker.mismatches.slice(0, 10));
  const okRefused = okCalls.filter(x => x.ok === false && x.code !== rm.ResponseCode.QUERY_NOT_FOUND);
  const okCount = m => okCalls.filter(x => x.method === m && x.ok).length;
  t.check(okRefused.length === 0 && okCount('sendHearbeat') > 0 && okCount('pullMessage') > 0 && okCount('getConsumerIdListByGroup') > 0,
    `no heartbeat, pull or offset request of the right consumer was refused (${okCalls.total} observed: ${okCount('sendHearbeat')} heartbeats, ` +
    `${okCount('pullMessage')} pulls, ${okCount('getConsumerIdListByGroup')} consumer lists accepted)`, okRefused.slice(0, 5));

  step('the refused consumers received nothing, and ali-ons got NO_PERMISSION (16) for their requests');
  for (const x of intruders) {
    t.check(x.received.length === 0, `consumer ${x.name} (${x.creds.accessKeyId} on ${x.group}) received nothing`, `${x.received.length} messages`);
    const succeeded = x.calls.filter(k => k.ok === true);
    const refused = x.calls.filter(k => k.ok === false);
    t.check(succeeded.length === 0 && refused.some(k => k.method === 'sendHearbeat') && refused.every(k => k.code === NO_PERMISSION && String(k.message).includes(x.remark)),
      `consumer ${x.name}: its requests were refused with 16 "${x.remark}" (${Object.entries(refused.reduce((m, k) => Object.assign(m, { [k.method]: (m[k.method] || 0) + 1 }), {})).map(([ m, n ]) => `${n} ${m}`).join(', ')})`,
      { succeeded: succeeded.slice(0, 5), refused: refused.slice(0, 5).map(k => `${k.method} code=${k.code} ${k.message}`) });
    t.check(x.events.some(isNoPermission), `consumer ${x.name}: ali-ons emitted an 'error' event with code 16`,
      x.events.slice(0, 5).map(e => `${e.name} code=${e.code} ${e.message}`));
  }

  // ------------------------------------------------------------------------------------------
  step('what is stored: ramjet-admin as the admin account (RAMJET_ACCESS_KEY / RAMJET_SECRET_KEY)');
  const stored = await storedIndices(c.nsAddr, TOPIC);
  const wantSorted = want.slice().sort((a, b) => a - b);
  t.check(stored.r.code === 0 && JSON.stringify(stored.indices) === JSON.stringify(wantSorted) && stored.other.length === 0 && stored.total === want.length,
    `ramjet-admin printMsg -t ${TOPIC}: exactly the ${want.length} accepted messages (#0..#${N - 1}, ${Array.from(accepted.keys()).map(i => `#${i}`).join(', ')})`,
    { exit: stored.r.code, indices: stored.indices, other: stored.other.slice(0, 5), total: stored.total, stderr: stored.r.stderr.slice(0, 500) });
  const storedDeny = await storedIndices(c.nsAddr, DENY_TOPIC);
  t.check(storedDeny.r.code === 0 && storedDeny.total === 0, `ramjet-admin printMsg -t ${DENY_TOPIC}: no message`,
    { exit: storedDeny.r.code, total: storedDeny.total, stdout: storedDeny.r.stdout.slice(0, 500), stderr: storedDeny.r.stderr.slice(0, 500) });
  // ramjet-admin printMsg / topicStatus show a refused GET_MAX_OFFSET as offset 0 (Admin::TopicStatus
  // does not look at the response code), so "no message" is confirmed with GET_MAX_OFFSET signed
  // by ali-ons (MQClient.getMaxOffset throws on anything but SUCCESS).
  const maxOf = async (topic, queues) => {
    const out = [];
    for (let q = 0; q < queues; q++) out.push(await admin._mqClient.getMaxOffset(c.brokerAddr, topic, q, 5000).catch(e => `code=${e.code} ${e.message}`));
    return out;
  };
  const topicMax = await maxOf(TOPIC, QUEUES);
  const denyMax = await maxOf(DENY_TOPIC, 1);
  t.check(topicMax.every(Number.isInteger) && topicMax.reduce((a, b) => a + b, 0) === want.length && JSON.stringify(denyMax) === '[0]',
    `GET_MAX_OFFSET as the admin account (ali-ons): ${TOPIC} holds ${want.length} messages, ${DENY_TOPIC} none`, { [TOPIC]: topicMax, [DENY_TOPIC]: denyMax });
  // consumerProgress also shows a refused GET_MAX_OFFSET as 0 (and a refused QUERY_CONSUMER_OFFSET as
  // -1, i.e. "Diff 0"), so its rows must show the max offsets above, each committed.
  const progressRows = out => out.split('\n').map(l => l.trim().split(/\s+/))
    .filter(f => f.length === 6 && f[0] === TOPIC).map(f => ({ queueId: Number(f[2]), broker: Number(f[3]), consumer: Number(f[4]) }));
  let progress;
  let rows = [];
  const progressOk = () => progress.code === 0 && rows.length === QUEUES &&
    rows.every(r => r.broker === topicMax[r.queueId] && r.consumer === r.broker);
  await waitFor(async () => {
    progress = await ramjetAdmin([ 'consumerProgress', '-n', c.nsAddr, '-g', GROUP, '-t', TOPIC ], ADMIN);
    rows = progressRows(progress.stdout);
    return progressOk();
  }, { timeoutMs: 15000, intervalMs: 500 });
  t.check(progressOk(),
    `ramjet-admin consumerProgress -g ${GROUP}: per queue, the broker offset is the max offset and the right consumer committed it (UPDATE_CONSUMER_OFFSET signed by ali-ons)`,
    `${progress.stdout}${progress.stderr}`);
  const intruderRoute = await rm.getRoute(c.nsAddr, INTRUDER_TOPIC);
  t.check(intruderRoute.code === rm.ResponseCode.TOPIC_NOT_EXIST, `${INTRUDER_TOPIC} (the refused admin request) does not exist`, intruderRoute);

  step('shut down');
  for (const x of intruders) {
    const err = await closeQuietly(x.cons, `consumer ${x.name}`);
    if (err) t.note(`consumer ${x.name}: close() rejected (its UNREGISTER_CLIENT is refused too): code=${err.code} ${err.message}`);
  }
  const closeErrs = [];
  for (const [ client, what ] of [ [ consumer, 'consumer' ], [ producer, 'user producer' ], [ admin, 'admin producer' ] ]) {
    const err = await closeQuietly(client, what);
    if (err) closeErrs.push(`${what}: code=${err.code} ${err.message}`);
  }
  t.check(closeErrs.length === 0, 'the accepted clients close cleanly (UNREGISTER_CLIENT accepted)', closeErrs);
  await common.stopChecked(t, c.broker, 'broker');
  await common.stopChecked(t, c.namesrv, 'name server');
  ons.printProblemSummary();
}, { timeoutMs: 240000 });
