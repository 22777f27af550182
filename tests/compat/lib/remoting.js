'use strict';
// A tiny raw RocketMQ 4.x remoting client (JSON headers only), used by the compatibility tests to
// create topics, poll routes, query offsets and to send hand-made frames.
//
// Frame: int32 BE length (= 4 + headerLen + bodyLen, not counting itself),
//        int32 BE header-length word (high byte = serialize type, 0 = JSON; low 24 bits = length),
//        header bytes (JSON), body bytes.

const net = require('net');

const RequestCode = {
  PULL_MESSAGE: 11,
  UPDATE_AND_CREATE_TOPIC: 17,
  QUERY_CONSUMER_OFFSET: 14,
  SEARCH_OFFSET_BY_TIMESTAMP: 29,
  GET_MAX_OFFSET: 30,
  GET_CONSUMER_LIST_BY_GROUP: 38,
  GET_ROUTEINFO_BY_TOPIC: 105,
};

const ResponseCode = {
  SUCCESS: 0,
  SYSTEM_ERROR: 1,
  REQUEST_CODE_NOT_SUPPORTED: 3,
  TOPIC_NOT_EXIST: 17,
  PULL_NOT_FOUND: 19,
  PULL_RETRY_IMMEDIATELY: 20,
  PULL_OFFSET_MOVED: 21,
  QUERY_NOT_FOUND: 22,
  SUBSCRIPTION_PARSE_FAILED: 23,
};

let nextOpaque = 1;
function newOpaque() {
  nextOpaque = (nextOpaque + 1) & 0x7fffffff;
  return nextOpaque;
}

function splitAddr(addr) {
  const i = addr.lastIndexOf(':');
  return { host: addr.slice(0, i), port: Number(addr.slice(i + 1)) };
}

/** Encodes a frame from an already-serialized header buffer and an optional body. */
function encodeRaw(headerBuf, body, serializeType = 0) {
  const bodyBuf = body ? Buffer.from(body) : Buffer.alloc(0);
  const out = Buffer.alloc(8 + headerBuf.length + bodyBuf.length);
  out.writeInt32BE(4 + headerBuf.length + bodyBuf.length, 0);
  out.writeUInt32BE(((serializeType & 0xff) << 24 | (headerBuf.length & 0xffffff)) >>> 0, 4);
  headerBuf.copy(out, 8);
  bodyBuf.copy(out, 8 + headerBuf.length);
  return out;
}

/**
 * Encodes a request frame. extFields are written exactly as given (callers pass strings unless
 * they test non-string values on purpose).
 */
function encodeRequest({ code, opaque, extFields, body, flag = 0, language = 'JAVA', version = 409, remark }) {
  const header = { code, language, version, opaque, flag };
  if (remark !== undefined) header.remark = remark;
  if (extFields) header.extFields = extFields;
  return encodeRaw(Buffer.from(JSON.stringify(header), 'utf8'), body);
}

/** Parses a JSON text that may use fastjson's unquoted integer map keys ({0:"a"}). */
function parseJsonLenient(text) {
  try {
    return JSON.parse(text);
  } catch (first) {
    const fixed = text.replace(/([{,]\s*)(-?\d+)(\s*:)/g, '$1"$2"$3');
    try {
      return JSON.parse(fixed);
    } catch (second) {
      throw new Error(`cannot parse JSON body (${first.message}): ${text.slice(0, 300)}`);
    }
  }
}

/** Incremental frame decoder. push(chunk) returns the complete frames decoded so far. */
class FrameDecoder {
  constructor() {
    this.buf = Buffer.alloc(0);
  }
  push(chunk) {
    this.buf = this.buf.length ? Buffer.concat([ this.buf, chunk ]) : chunk;
    const frames = [];
    while (this.buf.length >= 4) {
      const len = this.buf.readInt32BE(0);
      if (len < 4 || len > 64 * 1024 * 1024) {
        throw new Error(`server sent an invalid frame length ${len}`);
      }
      if (this.buf.length < 4 + len) break;
      const frame = this.buf.subarray(4, 4 + len);
      this.buf = this.buf.subarray(4 + len);
      frames.push(decodeFrameBody(frame));
    }
    return frames;
  }
}

/** Decodes a frame without its leading length field. */
function decodeFrameBody(frame) {
  const word = frame.readUInt32BE(0);
  const serializeType = word >>> 24;
  const headerLen = word & 0xffffff;
  if (serializeType !== 0) {
    throw new Error(`server answered with serialize type ${serializeType}, expected 0 (JSON)`);
  }
  if (4 + headerLen > frame.length) {
    throw new Error(`server sent header length ${headerLen} > frame length ${frame.length}`);
  }
  const headerText = frame.subarray(4, 4 + headerLen).toString('utf8');
  let header;
  try {
    header = JSON.parse(headerText);
  } catch (err) {
    throw new Error(`server sent a header that is not JSON: ${headerText.slice(0, 300)}`);
  }
  return {
    code: header.code,
    opaque: header.opaque,
    flag: header.flag,
    version: header.version,
    language: header.language,
    remark: header.remark,
    extFields: header.extFields || {},
    body: frame.subarray(4 + headerLen),
    headerText,
  };
}

/** One TCP connection with opaque-matched requests. */
class Connection {
  constructor(addr, { connectTimeoutMs = 5000 } = {}) {
    this.addr = addr;
    this.connectTimeoutMs = connectTimeoutMs;
    this.pending = new Map();
    this.decoder = new FrameDecoder();
    this.closed = false;
    this.closeReason = null;
    this.unsolicited = [];
  }

  connect() {
    const { host, port } = splitAddr(this.addr);
    return new Promise((resolve, reject) => {
      const sock = net.connect({ host, port });
      this.socket = sock;
      const timer = setTimeout(() => {
        sock.destroy();
        reject(new Error(`connect to ${this.addr} timed out after ${this.connectTimeoutMs} ms`));
      }, this.connectTimeoutMs);
      sock.once('connect', () => {
        clearTimeout(timer);
        resolve(this);
      });
      sock.on('error', err => {
        clearTimeout(timer);
        this._fail(err);
        reject(err);
      });
      sock.on('data', chunk => {
        let frames;
        try {
          frames = this.decoder.push(chunk);
        } catch (err) {
          this._fail(err);
          sock.destroy();
          return;
        }
        for (const f of frames) {
          const p = this.pending.get(f.opaque);
          if (p && (f.flag & 1) === 1) {
            this.pending.delete(f.opaque);
            clearTimeout(p.timer);
            p.resolve(f);
          } else {
            this.unsolicited.push(f);
          }
        }
      });
      sock.on('close', () => {
        this._fail(new Error(`connection to ${this.addr} closed by the server`));
      });
    });
  }

  _fail(err) {
    this.closed = true;
    if (!this.closeReason) this.closeReason = err;
    for (const [ opaque, p ] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new Error(`request opaque=${opaque} code=${p.code} to ${this.addr} failed: ${err.message}`));
    }
    this.pending.clear();
  }

  request(code, extFields, body, { timeoutMs = 5000, opaque = newOpaque(), version = 409 } = {}) {
    if (this.closed) {
      return Promise.reject(new Error(`connection to ${this.addr} is closed: ${this.closeReason && this.closeReason.message}`));
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(opaque);
        reject(new Error(`request code=${code} opaque=${opaque} to ${this.addr} got no response within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(opaque, { resolve, reject, timer, code });
      this.socket.write(encodeRequest({ code, opaque, extFields, body, version }));
    });
  }

  close() {
    if (this.socket) this.socket.destroy();
    this.closed = true;
  }
}

/** request(addr, code, extFields, body) -> Promise<{code, remark, extFields, body}> on a fresh connection. */
async function request(addr, code, extFields, body, opts = {}) {
  const conn = new Connection(addr, opts);
  await conn.connect();
  try {
    return await conn.request(code, extFields, body, opts);
  } finally {
    conn.close();
  }
}

function sleep(ms) {
  return new Promise(r => setTimeout(r, ms));
}

/** UPDATE_AND_CREATE_TOPIC (17) to a broker; throws unless the answer is SUCCESS. */
async function createTopic(brokerAddr, topic, { queues = 8, perm = 6 } = {}) {
  const res = await request(brokerAddr, RequestCode.UPDATE_AND_CREATE_TOPIC, {
    topic,
    defaultTopic: 'TBW102',
    readQueueNums: String(queues),
    writeQueueNums: String(queues),
    perm: String(perm),
    topicFilterType: 'SINGLE_TAG',
    topicSysFlag: '0',
    order: 'false',
  }, null, { timeoutMs: 10000 });
  if (res.code !== ResponseCode.SUCCESS) {
    throw new Error(`UPDATE_AND_CREATE_TOPIC ${topic} on ${brokerAddr} answered code=${res.code} remark=${JSON.stringify(res.remark)}`);
  }
  return res;
}

/**
 * Polls GET_ROUTEINFO_BY_TOPIC (105) until it answers SUCCESS (and, with `queues`, until the route
 * has at least that many write queues). Returns the parsed TopicRouteData.
 */
async function waitRoute(nsAddr, topic, { timeoutMs = 30000, intervalMs = 250, queues = 0 } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer yet';
  for (let attempt = 1; ; attempt++) {
    try {
      const res = await request(nsAddr, RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic }, null, { timeoutMs: 3000 });
      if (res.code === ResponseCode.SUCCESS) {
        const route = parseJsonLenient(res.body.toString('utf8'));
        const writeQueues = (route.queueDatas || []).reduce((n, q) => n + Number(q.writeQueueNums || 0), 0);
        if (writeQueues >= queues) return route;
        last = `route has ${writeQueues} write queues, waiting for ${queues}: ${res.body.toString('utf8').slice(0, 300)}`;
      } else {
        last = `code=${res.code} remark=${JSON.stringify(res.remark)}`;
      }
    } catch (err) {
      last = err.message;
    }
    if (Date.now() >= deadline) {
      throw new Error(`no route for topic ${topic} from name server ${nsAddr} after ${timeoutMs} ms (${attempt} attempts); last: ${last}`);
    }
    await sleep(intervalMs);
  }
}

/** GET_MAX_OFFSET (30): returns the number as a JS number, throws on a non-SUCCESS answer. */
async function getMaxOffset(brokerAddr, topic, queueId) {
  const res = await request(brokerAddr, RequestCode.GET_MAX_OFFSET, { topic, queueId: String(queueId) });
  if (res.code !== ResponseCode.SUCCESS) {
    throw new Error(`GET_MAX_OFFSET ${topic}/${queueId} answered code=${res.code} remark=${JSON.stringify(res.remark)}`);
  }
  return Number(res.extFields.offset);
}

/** QUERY_CONSUMER_OFFSET (14): returns the offset, or null for QUERY_NOT_FOUND (22). */
async function queryConsumerOffset(brokerAddr, group, topic, queueId) {
  const res = await request(brokerAddr, RequestCode.QUERY_CONSUMER_OFFSET,
    { consumerGroup: group, topic, queueId: String(queueId) });
  if (res.code === ResponseCode.QUERY_NOT_FOUND) return null;
  if (res.code !== ResponseCode.SUCCESS) {
    throw new Error(`QUERY_CONSUMER_OFFSET ${group} ${topic}/${queueId} answered code=${res.code} remark=${JSON.stringify(res.remark)}`);
  }
  return Number(res.extFields.offset);
}

/** SEARCH_OFFSET_BY_TIMESTAMP (29): the queue offset the broker answers for a time in ms. */
async function searchOffsetByTimestamp(brokerAddr, topic, queueId, timestamp) {
  const res = await request(brokerAddr, RequestCode.SEARCH_OFFSET_BY_TIMESTAMP,
    { topic, queueId: String(queueId), timestamp: String(timestamp) });
  if (res.code !== ResponseCode.SUCCESS) {
    throw new Error(`SEARCH_OFFSET_BY_TIMESTAMP ${topic}/${queueId} @${timestamp} answered code=${res.code} remark=${JSON.stringify(res.remark)}`);
  }
  return Number(res.extFields.offset);
}

/** GET_CONSUMER_LIST_BY_GROUP (38): returns the consumerIdList, or an error string. */
async function getConsumerList(brokerAddr, group) {
  try {
    const res = await request(brokerAddr, RequestCode.GET_CONSUMER_LIST_BY_GROUP, { consumerGroup: group });
    if (res.code !== ResponseCode.SUCCESS) return `code=${res.code} remark=${JSON.stringify(res.remark)}`;
    return parseJsonLenient(res.body.toString('utf8')).consumerIdList;
  } catch (err) {
    return err.message;
  }
}

/** One GET_ROUTEINFO_BY_TOPIC (105): {code, remark, route (parsed on SUCCESS)}. */
async function getRoute(nsAddr, topic) {
  const res = await request(nsAddr, RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic }, null, { timeoutMs: 3000 });
  const out = { code: res.code, remark: res.remark, route: null };
  if (res.code === ResponseCode.SUCCESS) out.route = parseJsonLenient(res.body.toString('utf8'));
  return out;
}

/**
 * One non-suspending PULL_MESSAGE (11) with an explicit subscription ("*" unless given; with
 * expressionType, e.g. 'SQL92', that header field is sent too), no offset commit.
 * Returns {code, remark, extFields, records (decoded with decodeRecords on SUCCESS), raw body}.
 */
async function pullMessage(brokerAddr, { group, topic, queueId, offset, maxMsgNums = 32, subscription = '*', expressionType }) {
  const ext = {
    consumerGroup: group,
    topic,
    queueId: String(queueId),
    queueOffset: String(offset),
    maxMsgNums: String(maxMsgNums),
    sysFlag: '4', // FLAG_SUBSCRIPTION only: no commit, no suspend
    commitOffset: '0',
    suspendTimeoutMillis: '0',
    subscription,
    subVersion: '0',
  };
  if (expressionType !== undefined) ext.expressionType = expressionType;
  const res = await request(brokerAddr, RequestCode.PULL_MESSAGE, ext, null, { timeoutMs: 10000 });
  const out = { code: res.code, remark: res.remark, extFields: res.extFields, body: res.body, records: [] };
  if (res.code === ResponseCode.SUCCESS) out.records = decodeRecords(res.body);
  return out;
}

// CRC-32 (zlib polynomial), for BODYCRC.
const CRC_TABLE = (() => {
  const t = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  return t;
})();
function crc32(buf) {
  let c = -1;
  for (let i = 0; i < buf.length; i++) c = CRC_TABLE[(c ^ buf[i]) & 0xff] ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}

const MESSAGE_MAGIC = 0xdaa320a7 | 0;
const SYSFLAG_BORNHOST_V6 = 0x10;
const SYSFLAG_STOREHOST_V6 = 0x20;

/** Splits "k\u0001v\u0002k\u0001v\u0002" into an object. */
function parseProperties(text) {
  const out = {};
  for (const item of text.split('\u0002')) {
    if (!item) continue;
    const i = item.indexOf('\u0001');
    if (i >= 0) out[item.slice(0, i)] = item.slice(i + 1);
  }
  return out;
}

/**
 * Decodes concatenated message records in the commit-log layout (reference §4.4). Throws with the
 * record index and byte position on any inconsistency (bad magic, TOTALSIZE that does not match
 * the variable-length fields, truncated data). bodyCrcOk tells whether BODYCRC matches the body.
 */
function decodeRecords(buf) {
  const out = [];
  let pos = 0;
  while (pos < buf.length) {
    const where = `record #${out.length} at byte ${pos} of ${buf.length}`;
    if (buf.length - pos < 4) throw new Error(`${where}: ${buf.length - pos} trailing bytes`);
    const total = buf.readInt32BE(pos);
    if (total < 91 || pos + total > buf.length) throw new Error(`${where}: TOTALSIZE ${total} does not fit`);
    const r = buf.subarray(pos, pos + total);
    let p = 4;
    const i32 = () => { const v = r.readInt32BE(p); p += 4; return v; };
    const i64 = () => { const v = Number(r.readBigInt64BE(p)); p += 8; return v; };
    const host = v6 => {
      const n = v6 ? 16 : 4;
      const ip = Array.from(r.subarray(p, p + n)).join(v6 ? ':' : '.');
      p += n;
      return `${ip}:${i32()}`;
    };
    const m = { totalSize: total };
    m.magic = i32();
    if (m.magic !== MESSAGE_MAGIC) throw new Error(`${where}: MAGICCODE 0x${(m.magic >>> 0).toString(16)} != 0xdaa320a7`);
    m.bodyCrc = i32();
    m.queueId = i32();
    m.flag = i32();
    m.queueOffset = i64();
    m.physicalOffset = i64();
    m.sysFlag = i32();
    m.bornTimestamp = i64();
    m.bornHost = host(m.sysFlag & SYSFLAG_BORNHOST_V6);
    m.storeTimestamp = i64();
    m.storeHost = host(m.sysFlag & SYSFLAG_STOREHOST_V6);
    m.reconsumeTimes = i32();
    m.preparedTransactionOffset = i64();
    const bodyLen = i32();
    if (bodyLen < 0 || p + bodyLen + 3 > total) throw new Error(`${where}: BODYLENGTH ${bodyLen} does not fit TOTALSIZE ${total}`);
    m.body = Buffer.from(r.subarray(p, p + bodyLen));
    p += bodyLen;
    m.bodyCrcOk = ((crc32(m.body) & 0x7fffffff) >>> 0) === (m.bodyCrc >>> 0);
    const topicLen = r.readUInt8(p);
    p += 1;
    if (p + topicLen + 2 > total) throw new Error(`${where}: TOPICLENGTH ${topicLen} does not fit`);
    m.topic = r.subarray(p, p + topicLen).toString('utf8');
    p += topicLen;
    const propLen = r.readInt16BE(p);
    p += 2;
    if (propLen < 0 || p + propLen !== total) {
      throw new Error(`${where}: PROPERTIESLENGTH ${propLen} leaves ${total - p - propLen} bytes of TOTALSIZE ${total} unaccounted`);
    }
    m.propertiesText = r.subarray(p, p + propLen).toString('utf8');
    m.properties = parseProperties(m.propertiesText);
    out.push(m);
    pos += total;
  }
  return out;
}

/** The offset message id (32 upper-case hex digits) of a decoded record with an IPv4 store host. */
function offsetMsgId(record) {
  const [ ip, port ] = [ record.storeHost.slice(0, record.storeHost.lastIndexOf(':')), Number(record.storeHost.slice(record.storeHost.lastIndexOf(':') + 1)) ];
  const b = Buffer.alloc(16);
  ip.split('.').forEach((x, k) => b.writeUInt8(Number(x), k));
  b.writeInt32BE(port, 4);
  b.writeBigInt64BE(BigInt(record.physicalOffset), 8);
  return b.toString('hex').toUpperCase();
}

module.exports = {
  RequestCode,
  ResponseCode,
  Connection,
  FrameDecoder,
  encodeRaw,
  encodeRequest,
  decodeFrameBody,
  parseJsonLenient,
  newOpaque,
  request,
  createTopic,
  waitRoute,
  getMaxOffset,
  queryConsumerOffset,
  getConsumerList,
  searchOffsetByTimestamp,
  getRoute,
  pullMessage,
  decodeRecords,
  parseProperties,
  offsetMsgId,
  crc32,
  sleep,
};
