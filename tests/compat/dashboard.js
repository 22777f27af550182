'use strict';
// The web dashboard in a real browser. A name server and a broker with --dashboardPort run as in
// the other tests; ali-ons makes real data: a topic with known keys, a group with committed
// offsets (then offline, with a lag), and a group whose consumer fails every message so that
// they land in its %DLQ%. Debian's Chromium, driven by playwright-core, then goes through every
// page and checks that it shows that data, and does from the browser: create and delete groups,
// create and delete a topic, send a message, search messages by time, key and id, reset offsets
// (to a time and to the end), and resend a dead letter, which the group's consumer must then
// receive. Every write is checked independently (raw remoting or the JSON API). Writes without
// the dashboard header or from another origin must get 403 and change nothing. Screenshots of
// every page go to $RAMJET_ARTIFACTS_DIR (default build/test-artifacts/dashboard).
// Exit code 77 (skipped) when /usr/bin/chromium is missing.

const fs = require('fs');
const http = require('http');
const path = require('path');

const CHROMIUM = process.env.RAMJET_CHROMIUM || '/usr/bin/chromium';
if (!fs.existsSync(CHROMIUM)) {
  console.error(`SKIP dashboard: ${CHROMIUM} not found (apt-get install chromium)`);
  process.exit(77);
}

const { chromium } = require('playwright-core');
const { runTest, step, waitFor, withTimeout } = require('./lib/harness');
const cluster = require('./lib/cluster');
const rm = require('./lib/remoting');
const ons = require('./lib/ons');
const common = require('./lib/common');

const ARTIFACTS = process.env.RAMJET_ARTIFACTS_DIR || path.resolve(__dirname, '../../build/test-artifacts/dashboard');
const TOPIC = 'DashTopic';
const QUEUES = 4;
const DLQ_TOPIC = 'DashDlqTopic';
const CREATED_TOPIC = 'DashCreatedTopic';
const CREATED_QUEUES = 3;
const GROUP_OK = 'CID_DASH_OK';
const GROUP_DLQ = 'CID_DASH_DLQ';
const GROUP_TEMP = 'CID_DASH_TEMP'; // created and deleted from the browser
const PRODUCER_GROUP = 'PID_DASH';
const N = 20; // messages consumed by GROUP_OK
const LATE = 5; // sent after GROUP_OK went offline: its lag
const DLQ_IDX = [ 100, 101 ]; // messages of DLQ_TOPIC, keys key-100 and key-101
const KEY_IDX = 7; // the message searched by key
const BROKER_ARGS_BASE = [ `--messageDelayLevel=${Array(18).fill('1s').join(' ')}` ];
const CONSUMER_OPTIONS = { pollNameServerInteval: 1000 }; // see retry_dlq.js
const GET_MIN_OFFSET = 31;
const UI_TIMEOUT_MS = 20000;
const dlqTopic = g => `%DLQ%${g}`;
const retryTopic = g => `%RETRY%${g}`;
const isExpectedError = err => /compat: provoked failure/.test(err.message) || (err.code === 17 && /%RETRY%/.test(err.message));

// ---------------------------------------------------------------------------------------------
// HTTP to the dashboard, outside the browser

/** One HTTP request: {status, headers, text, json}. Bounded by 15 s. */
function httpRequest(base, method, p, { body, headers = {} } = {}) {
  return withTimeout(new Promise((resolve, reject) => {
    const data = body === undefined ? null : Buffer.from(JSON.stringify(body));
    const req = http.request(new URL(p, base), { method, headers: Object.assign(data ? { 'Content-Length': data.length } : {}, headers) }, res => {
      const chunks = [];
      res.on('data', c => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json = null;
        try {
          json = JSON.parse(text);
        } catch (err) {
          // not JSON
        }
        resolve({ status: res.statusCode, headers: res.headers, text, json });
      });
    });
    req.on('error', reject);
    if (data) req.write(data);
    req.end();
  }), 15000, `${method} ${p}`);
}

const WRITE_HEADERS = { 'Content-Type': 'application/json', 'X-Ramjet-Dashboard': '1' };

/** GET that must answer 200 with JSON; returns the JSON. */
async function apiGet(base, p) {
  const r = await httpRequest(base, 'GET', p);
  if (r.status !== 200 || !r.json) throw new Error(`GET ${p} answered ${r.status}: ${r.text.slice(0, 300)}`);
  return r.json;
}

// ---------------------------------------------------------------------------------------------
// Raw broker state (independent of the dashboard)

async function getMinOffset(brokerAddr, topic, queueId) {
  const res = await rm.request(brokerAddr, GET_MIN_OFFSET, { topic, queueId: String(queueId) });
  if (res.code !== rm.ResponseCode.SUCCESS) throw new Error(`GET_MIN_OFFSET ${topic}/${queueId} answered code=${res.code} remark=${res.remark}`);
  return Number(res.extFields.offset);
}

async function minOffsets(brokerAddr, topic, queues) {
  const out = [];
  for (let q = 0; q < queues; q++) out.push(await getMinOffset(brokerAddr, topic, q));
  return out;
}

const sum = a => a.reduce((x, y) => x + y, 0);

// ---------------------------------------------------------------------------------------------
// Browser helpers

const tid = id => `[data-testid="${id}"]`;

/** Clicks a nav link and waits for its page. */
async function openPage(page, nav, pageId) {
  await page.click(tid(`nav-${nav}`));
  await page.locator(tid(`page-${pageId}`)).waitFor({ timeout: UI_TIMEOUT_MS });
}

/**
 * Waits for the first .notice (with `noticeText` in it, when given) or .error inside scope;
 * {ok, text}.
 */
async function outcome(page, scope, { noticeText = '', timeoutMs = 30000 } = {}) {
  const notice = noticeText ? `${scope} .notice:has-text(${JSON.stringify(noticeText)})` : `${scope} .notice`;
  const loc = page.locator(`${notice}, ${scope} .error`).first();
  await loc.waitFor({ state: 'visible', timeout: timeoutMs });
  const cls = (await loc.getAttribute('class')) || '';
  return { ok: cls.includes('notice'), text: (await loc.textContent()).trim() };
}

/** Polls texts of all elements matching selector until pred(texts) holds; returns the last texts. */
async function waitTexts(page, selector, pred, timeoutMs = UI_TIMEOUT_MS) {
  let texts = [];
  await waitFor(async () => {
    texts = (await page.locator(selector).allTextContents()).map(s => s.trim());
    return pred(texts);
  }, { timeoutMs, intervalMs: 200 });
  return texts;
}

/** Like waitAttrs, and clicks the page's reload button every 2 s until pred holds. */
async function waitAttrsReloading(page, selector, attr, pred, reloadId, timeoutMs = UI_TIMEOUT_MS) {
  let values = [];
  let last = Date.now();
  await waitFor(async () => {
    values = await page.locator(selector).evaluateAll((els, a) => els.map(e => e.getAttribute(a)), attr);
    if (pred(values)) return true;
    if (Date.now() - last > 2000) {
      last = Date.now();
      await page.click(tid(reloadId));
    }
    return false;
  }, { timeoutMs, intervalMs: 200 });
  return values;
}

/** Polls the values of an attribute of all elements matching selector until pred(values) holds. */
async function waitAttrs(page, selector, attr, pred, timeoutMs = UI_TIMEOUT_MS) {
  let values = [];
  await waitFor(async () => {
    values = await page.locator(selector).evaluateAll((els, a) => els.map(e => e.getAttribute(a)), attr);
    return pred(values);
  }, { timeoutMs, intervalMs: 200 });
  return values;
}

const num = s => Number(String(s).replace(/[^0-9.-]/g, ''));

async function screenshot(t, page, name) {
  const file = path.join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true, timeout: 30000 });
  t.note(`screenshot ${file}`);
}

// ---------------------------------------------------------------------------------------------

runTest('dashboard', async t => {
  fs.mkdirSync(ARTIFACTS, { recursive: true });

  step('start name server and broker with the dashboard');
  const dashPort = await cluster.pickPort([ 0 ]);
  const dir = t.tempDir(cluster.makeTempDir());
  const c = { dir };
  c.namesrv = await cluster.startNamesrv({ dir: path.join(dir, 'namesrv'), avoid: [ dashPort ] });
  c.nsAddr = c.namesrv.addr;
  c.broker = await cluster.startBroker({ dir: path.join(dir, 'broker'), nsAddr: c.nsAddr, avoid: [ dashPort ],
    extraArgs: [ ...BROKER_ARGS_BASE, `--dashboardPort=${dashPort}`, '--dashboardHost=127.0.0.1' ] });
  c.brokerAddr = c.broker.addr;
  console.error(`[cluster] namesrv ${c.nsAddr}, broker ${c.brokerAddr}, dashboard http://127.0.0.1:${dashPort}/, dir ${dir}`);
  const base = `http://127.0.0.1:${dashPort}/`;
  const up = await waitFor(() => cluster.tryConnect(dashPort), { timeoutMs: 20000, intervalMs: 200 });
  if (!up) t.fatal(`the dashboard listens on 127.0.0.1:${dashPort} within 20 s`);
  const index = await httpRequest(base, 'GET', '/');
  t.check(index.status === 200 && /\/assets\/app\.js/.test(index.text) && /\/assets\/app\.css/.test(index.text),
    `GET / answers 200 with the page that loads /assets/app.js and /assets/app.css`, { status: index.status, text: index.text.slice(0, 300) });
  for (const [ asset, type ] of [ [ '/assets/app.js', /javascript/ ], [ '/assets/app.css', /text\/css/ ] ]) {
    const r = await httpRequest(base, 'GET', asset);
    t.check(r.status === 200 && type.test(r.headers['content-type'] || '') && r.text.length > 1000,
      `GET ${asset} answers 200, ${type.source}, ${r.text.length} bytes`, { status: r.status, type: r.headers['content-type'] });
  }

  step(`launch ${CHROMIUM}`);
  const browser = await withTimeout(chromium.launch({ executablePath: CHROMIUM, args: [ '--no-sandbox' ], headless: true, timeout: 60000 }), 70000, 'chromium launch');
  t.cleanup(() => browser.close());
  t.note(`browser ${browser.version()}`);
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: false });
  const page = await context.newPage();
  page.setDefaultTimeout(UI_TIMEOUT_MS);
  let texts;
  let o;
  const pageErrors = [];
  page.on('pageerror', err => pageErrors.push(err.message));
  page.on('console', m => {
    if (m.type() === 'error') console.error(`  [browser console] ${m.text()}`);
  });
  await page.goto(`${base}#/`, { timeout: 30000 });
  await page.locator(tid('nav')).waitFor();

  // ------------------------------------------------------------------------------------------
  step(`browser: create group ${GROUP_DLQ} (retryMaxTimes 1) on the Consumers page`);
  await openPage(page, 'consumers', 'consumers');
  await page.fill(tid('group-form-name'), GROUP_DLQ);
  await page.fill(tid('group-form-retry'), '1');
  await page.click(tid('group-form-submit'));
  o = await outcome(page, tid('group-form'));
  t.check(o.ok && o.text.includes(GROUP_DLQ), `the group form shows a notice for ${GROUP_DLQ}`, o);
  const gcfg = await apiGet(base, `/api/consumers/${encodeURIComponent(GROUP_DLQ)}`);
  t.check(gcfg.config && Number(gcfg.config.retryMaxTimes) === 1, `GET /api/consumers/${GROUP_DLQ}: config.retryMaxTimes is 1`, gcfg.config);

  step(`browser: create group ${GROUP_TEMP}, then delete it on its page`);
  await page.fill(tid('group-form-name'), GROUP_TEMP);
  await page.fill(tid('group-form-retry'), '3');
  await page.click(tid('group-form-submit'));
  o = await outcome(page, tid('group-form'), { noticeText: GROUP_TEMP });
  t.check(o.ok && o.text.includes(GROUP_TEMP), `the group form shows a notice for ${GROUP_TEMP}`, o);
  await waitAttrsReloading(page, tid('consumer-row'), 'data-group', v => v.includes(GROUP_TEMP), 'consumers-reload');
  await page.locator(`${tid('consumer-row')}[data-group="${GROUP_TEMP}"] ${tid('consumer-link')}`).click();
  texts = await waitTexts(page, `${tid('consumer-config-table')} tr`, x => x.some(r => r.startsWith('retryMaxTimes') && r.endsWith('3')));
  t.check(texts.some(r => r.startsWith('retryMaxTimes') && r.endsWith('3')), `the page of ${GROUP_TEMP} shows retryMaxTimes 3`, texts);
  await page.click(tid('consumer-delete'));
  await page.click(tid('consumer-delete-yes'));
  o = await outcome(page, `${tid('page-consumers')} > .status-lines`);
  t.check(o.ok && o.text.includes(GROUP_TEMP), `deleting ${GROUP_TEMP} (after the inline confirm) shows a notice`, o);
  let groupsLeft = [];
  await waitFor(async () => {
    groupsLeft = ((await apiGet(base, '/api/consumers')).groups || []).map(g => g.group);
    return !groupsLeft.includes(GROUP_TEMP);
  }, { timeoutMs: 10000, intervalMs: 500 });
  t.check(!groupsLeft.includes(GROUP_TEMP) && groupsLeft.includes(GROUP_DLQ), `GET /api/consumers no longer has ${GROUP_TEMP} (still has ${GROUP_DLQ})`, groupsLeft);

  // ------------------------------------------------------------------------------------------
  step('prepare data with ali-ons');
  await common.createTopicAndWait(t, c, TOPIC, QUEUES);
  await common.createTopicAndWait(t, c, DLQ_TOPIC, 1);
  const producer = await ons.makeProducer(c.nsAddr, { group: PRODUCER_GROUP, instanceName: 'compat-dash-producer' });
  t.cleanup(() => ons.closeClient(producer, 'producer'));
  const sent = await ons.sendMessages(producer, TOPIC, 0, N, { largeEvery: 0, concurrency: 4 });
  ons.checkSendResults(t, `${N} messages to ${TOPIC}`, sent, { queues: QUEUES });

  // GROUP_OK consumes everything and commits, then goes offline.
  const okSeen = new Set();
  let okConsumer = await ons.makeConsumer(c.nsAddr, { group: GROUP_OK, instanceName: 'compat-dash-ok' });
  t.cleanup(() => okConsumer && ons.closeClient(okConsumer, 'ok consumer'));
  okConsumer.subscribe(TOPIC, '*', async msg => { okSeen.add(Number(msg.properties[ons.IDX_PROP])); });
  let maxAfterN;
  let committed;
  const okDone = await waitFor(async () => {
    maxAfterN = await common.maxOffsets(c.brokerAddr, TOPIC, QUEUES);
    committed = await common.committedOffsets(c.brokerAddr, GROUP_OK, TOPIC, QUEUES);
    return okSeen.size === N && sum(maxAfterN) === N && JSON.stringify(committed) === JSON.stringify(maxAfterN);
  }, { timeoutMs: 60000, intervalMs: 500 });
  t.check(!!okDone, `${GROUP_OK} received all ${N} messages and committed the max offsets`, { received: okSeen.size, committed, maxAfterN });
  await ons.closeClient(okConsumer, 'ok consumer');
  okConsumer = null;
  const late = await ons.sendMessages(producer, TOPIC, N, LATE, { largeEvery: 0, concurrency: 1 });
  t.check(late.errors.length === 0 && late.expected.size === LATE, `${LATE} more messages sent while ${GROUP_OK} is offline`, late.errors);
  for (const [ i, e ] of late.expected) sent.expected.set(i, e);

  // GROUP_DLQ: consumer A fails every message; with max 1 retry both land in the DLQ.
  const dlqSeenA = new Map();
  let dlqA = await ons.makeConsumer(c.nsAddr, { group: GROUP_DLQ, instanceName: 'compat-dash-dlq-a', isExpectedError, options: Object.assign({ maxReconsumeTimes: 1 }, CONSUMER_OPTIONS) });
  t.cleanup(() => dlqA && ons.closeClient(dlqA, 'dlq consumer A'));
  dlqA.subscribe(DLQ_TOPIC, '*', async msg => {
    const i = Number(msg.properties[ons.IDX_PROP]);
    dlqSeenA.set(i, (dlqSeenA.get(i) || 0) + 1);
    throw new Error(`compat: provoked failure of #${i}`);
  });
  const dlqSent = new Map();
  for (const i of DLQ_IDX) {
    const { msg, expected } = ons.makeMessage(DLQ_TOPIC, i, { largeEvery: 0 });
    const r = await producer.send(msg);
    expected.sendResult = { msgId: r.msgId };
    dlqSent.set(i, expected);
  }
  let dlqMax;
  await waitFor(async () => {
    dlqMax = await rm.getMaxOffset(c.brokerAddr, dlqTopic(GROUP_DLQ), 0).catch(e => e.message);
    return dlqMax === DLQ_IDX.length;
  }, { timeoutMs: 60000, intervalMs: 500 });
  if (dlqMax !== DLQ_IDX.length) {
    t.fatal(`${dlqTopic(GROUP_DLQ)} holds the ${DLQ_IDX.length} failing messages within 60 s`, { dlqMax, deliveriesToA: Object.fromEntries(dlqSeenA) });
  }
  t.check(DLQ_IDX.every(i => dlqSeenA.get(i) === 2), `consumer A saw each failing message twice (retryMaxTimes 1) before the DLQ`, Object.fromEntries(dlqSeenA));
  // A must have committed everything, so that the next consumer of the group starts at the end.
  let aCommitted;
  const aDone = await waitFor(async () => {
    const retryMax = await rm.getMaxOffset(c.brokerAddr, retryTopic(GROUP_DLQ), 0).catch(() => -1);
    aCommitted = [ await rm.queryConsumerOffset(c.brokerAddr, GROUP_DLQ, DLQ_TOPIC, 0), await rm.queryConsumerOffset(c.brokerAddr, GROUP_DLQ, retryTopic(GROUP_DLQ), 0), retryMax ];
    return aCommitted[0] === DLQ_IDX.length && aCommitted[1] === retryMax;
  }, { timeoutMs: 20000, intervalMs: 500 });
  t.check(!!aDone, `${GROUP_DLQ} committed ${DLQ_TOPIC} and ${retryTopic(GROUP_DLQ)} to their ends`, aCommitted);
  await ons.closeClient(dlqA, 'dlq consumer A');
  dlqA = null;
  // Consumer B of the same group accepts everything; it must get a message again only when the
  // browser resends it from the DLQ.
  const dlqSeenB = [];
  let dlqB = await ons.makeConsumer(c.nsAddr, { group: GROUP_DLQ, instanceName: 'compat-dash-dlq-b', isExpectedError, options: CONSUMER_OPTIONS });
  t.cleanup(() => dlqB && ons.closeClient(dlqB, 'dlq consumer B'));
  dlqB.subscribe(DLQ_TOPIC, '*', async msg => {
    dlqSeenB.push({ at: Date.now(), i: Number(msg.properties[ons.IDX_PROP]), keys: msg.keys, body: Buffer.from(msg.body || []).toString('utf8'), msgId: msg.msgId, reconsumeTimes: msg.reconsumeTimes });
  });

  // ------------------------------------------------------------------------------------------
  step('browser: Overview');
  await openPage(page, 'overview', 'overview');
  texts = await waitTexts(page, tid('overview-clusters'), x => x[0] && x[0].includes('DefaultCluster'));
  t.check(texts[0] && texts[0].includes('DefaultCluster'), 'Overview shows the cluster DefaultCluster', texts);
  const addrs = await waitAttrs(page, tid('overview-broker'), 'data-addr', v => v.includes(c.brokerAddr));
  t.check(addrs.includes(c.brokerAddr), `Overview has a broker card for ${c.brokerAddr}`, addrs);
  const apiOverview = await apiGet(base, '/api/overview');
  const apiNormal = ((await apiGet(base, '/api/topics')).topics || []).filter(x => x.type === 'NORMAL').map(x => x.topic);
  texts = await waitTexts(page, tid('overview-topic-count'), x => num(x[0]) === apiNormal.length);
  t.check(num(texts[0]) === apiNormal.length && Number(apiOverview.topicCount) === apiNormal.length && apiNormal.includes(TOPIC) && apiNormal.includes(DLQ_TOPIC),
    `Overview topic count ${texts[0]}: the NORMAL topics of /api/topics (${apiNormal.join(', ')}); /api/overview says ${apiOverview.topicCount}`);
  texts = await waitTexts(page, tid('overview-group-count'), x => num(x[0]) >= 2);
  t.check(num(texts[0]) >= 2, `Overview group count ${texts[0]} (at least ${GROUP_OK} and ${GROUP_DLQ})`);
  texts = await waitTexts(page, tid('overview-total-lag'), x => num(x[0]) >= LATE);
  t.check(num(texts[0]) >= LATE, `Overview total lag ${texts[0]} includes the ${LATE} messages ${GROUP_OK} has not consumed`);
  await page.locator(`${tid('tps-chart')} canvas`).first().waitFor();
  const chartState = async () => ({
    points: Number(await page.getAttribute(tid('tps-chart'), 'data-points')),
    last: Number(await page.getAttribute(tid('tps-chart'), 'data-last')),
  });
  const chart0 = await chartState();
  let chart1 = chart0;
  await waitFor(async () => {
    chart1 = await chartState();
    return chart1.points > 0 && chart1.last > chart0.last;
  }, { timeoutMs: 16000, intervalMs: 500 });
  t.check(chart1.points > 0 && chart1.last > chart0.last,
    `the TPS chart refreshes by itself: ${chart0.points} samples up to ${chart0.last}, then ${chart1.points} samples up to ${chart1.last}`);
  await screenshot(t, page, 'overview');

  // ------------------------------------------------------------------------------------------
  step('browser: Cluster (the request first held back 1.5 s to see the progress line)');
  await page.route('**/api/cluster', async route => {
    await cluster.sleep(1500);
    await route.continue();
  });
  await openPage(page, 'cluster', 'cluster');
  const sawLoading = await page.locator('.loading').first().isVisible();
  t.check(sawLoading, 'a .loading element is visible while /api/cluster is pending');
  const row = page.locator(`${tid('broker-row')}[data-addr="${c.brokerAddr}"]`);
  await row.waitFor();
  await page.unroute('**/api/cluster');
  t.check(await page.locator('.loading').count() === 0, 'the .loading element is gone once the answer is shown');
  const rowText = await row.textContent();
  t.check(rowText.includes('broker-a') && rowText.includes('DefaultCluster') && /MASTER/.test(rowText),
    `Cluster lists ${c.brokerAddr} as broker-a of DefaultCluster, a master`, rowText);
  await row.locator(tid('broker-runtime-btn')).click();
  texts = await waitTexts(page, `${tid('broker-runtime-table')} tr`, x => x.length > 3);
  t.check(texts.length > 3, `the runtime info of the broker has ${texts.length} entries`, texts.slice(0, 5));
  await row.locator(tid('broker-config-btn')).click();
  texts = await waitTexts(page, `${tid('broker-config-table')} tr`, x => x.some(s => s.startsWith('brokerName') && s.includes('broker-a')));
  t.check(texts.some(s => s.startsWith('brokerName') && s.includes('broker-a')), 'the broker config shows brokerName broker-a', texts.slice(0, 10));
  t.check(texts.some(s => s.startsWith('listenPort') && s.includes(String(c.broker.port))), `the broker config shows listenPort ${c.broker.port}`,
    texts.filter(s => /port/i.test(s)));
  await screenshot(t, page, 'cluster');

  // ------------------------------------------------------------------------------------------
  step('browser: Consumers');
  await openPage(page, 'consumers', 'consumers');
  const okRow = page.locator(`${tid('consumer-row')}[data-group="${GROUP_OK}"]`);
  await okRow.waitFor();
  let lagText = '';
  await waitFor(async () => {
    lagText = (await okRow.locator(tid('consumer-lag')).textContent()).trim();
    if (num(lagText) === LATE && num(await okRow.locator(tid('consumer-online')).textContent()) === 0) return true;
    await page.click(tid('consumers-reload'));
    await cluster.sleep(1000);
    return false;
  }, { timeoutMs: 20000, intervalMs: 200 });
  t.check(num(lagText) === LATE, `Consumers: ${GROUP_OK} has lag ${LATE} (shows ${lagText})`);
  const okOnline = (await okRow.locator(tid('consumer-online')).textContent()).trim();
  t.check(num(okOnline) === 0, `Consumers: ${GROUP_OK} has no client online (shows ${okOnline})`);
  const dlqRow = page.locator(`${tid('consumer-row')}[data-group="${GROUP_DLQ}"]`);
  await dlqRow.waitFor();
  let dlqOnline = '';
  await waitFor(async () => {
    dlqOnline = (await dlqRow.locator(tid('consumer-online')).textContent()).trim();
    if (num(dlqOnline) === 1) return true;
    await page.click(tid('consumers-reload'));
    await cluster.sleep(1000);
    return false;
  }, { timeoutMs: 20000, intervalMs: 200 });
  t.check(num(dlqOnline) === 1, `Consumers: ${GROUP_DLQ} has 1 client online (consumer B; shows ${dlqOnline})`);
  await page.fill(tid('consumer-filter'), 'DASH_OK');
  texts = await waitAttrs(page, tid('consumer-row'), 'data-group', v => v.length === 1);
  t.check(texts.length === 1 && texts[0] === GROUP_OK, 'the filter DASH_OK leaves only that group', texts);
  await page.fill(tid('consumer-filter'), '');
  await screenshot(t, page, 'consumers');

  // ------------------------------------------------------------------------------------------
  step(`browser: consumer ${GROUP_OK}: lag per queue, then reset its offset to 2000-01-01`);
  await okRow.locator(tid('consumer-link')).click();
  await page.locator(tid('consumer-progress-table')).waitFor();
  const progressOffsets = async () => {
    const rows = page.locator(`${tid('consumer-progress-row')}[data-topic="${TOPIC}"]`);
    return rows.evaluateAll(els => els.map(e => [ Number(e.getAttribute('data-queue')), e.querySelector('[data-testid="consumer-offset"]').textContent ]));
  };
  let shown = [];
  await waitFor(async () => {
    shown = await progressOffsets();
    return shown.length === QUEUES;
  }, { timeoutMs: UI_TIMEOUT_MS });
  const shownByQueue = Array.from({ length: QUEUES }, (_, q) => num((shown.find(([ qq ]) => qq === q) || [])[1]));
  t.check(JSON.stringify(shownByQueue) === JSON.stringify(committed), `consumer detail shows the committed offsets per queue ${JSON.stringify(committed)}`, shown);
  texts = await waitTexts(page, tid('consumer-total-lag'), x => num(x[0]) === LATE);
  t.check(num(texts[0]) === LATE, `consumer detail shows total lag ${LATE}`, texts);
  t.check(await page.locator(tid('consumer-offline')).isVisible(), 'consumer detail says that no client is online');
  const mins = await minOffsets(c.brokerAddr, TOPIC, QUEUES);
  await page.fill(`${tid('consumer-reset-offset')} ${tid('consumer-reset-offset-topic')}`, TOPIC);
  await page.fill(tid('consumer-reset-offset-time'), '2000-01-01T00:00:00');
  await page.click(tid('consumer-reset-offset-submit'));
  o = await outcome(page, tid('consumer-reset-offset'));
  t.check(o.ok, `reset of ${GROUP_OK} on ${TOPIC} to 2000-01-01 shows a notice`, o);
  let apiProgress;
  const resetOk = await waitFor(async () => {
    const g = await apiGet(base, `/api/consumers/${GROUP_OK}`);
    apiProgress = (g.progress || []).filter(p => p.topic === TOPIC).sort((a, b) => a.queueId - b.queueId).map(p => Number(p.consumerOffset));
    return JSON.stringify(apiProgress) === JSON.stringify(mins);
  }, { timeoutMs: 10000, intervalMs: 500 });
  t.check(!!resetOk, `GET /api/consumers/${GROUP_OK}: the consumer offsets are the min offsets ${JSON.stringify(mins)} after the reset`, apiProgress);
  const rawAfterReset = await common.committedOffsets(c.brokerAddr, GROUP_OK, TOPIC, QUEUES);
  t.check(JSON.stringify(rawAfterReset) === JSON.stringify(mins), `QUERY_CONSUMER_OFFSET agrees: ${JSON.stringify(rawAfterReset)}`);
  await page.click(tid('consumer-reload'));
  const maxNow = await common.maxOffsets(c.brokerAddr, TOPIC, QUEUES);
  texts = await waitTexts(page, tid('consumer-total-lag'), x => num(x[0]) === sum(maxNow) - sum(mins));
  t.check(num(texts[0]) === sum(maxNow) - sum(mins), `consumer detail now shows total lag ${sum(maxNow) - sum(mins)}`, texts);
  await screenshot(t, page, 'consumer-detail');

  // ------------------------------------------------------------------------------------------
  step('browser: Topics (filters, create, delete)');
  await openPage(page, 'topics', 'topics');
  let topics = await waitAttrsReloading(page, tid('topic-row'), 'data-topic', v => v.includes(TOPIC) && v.includes(DLQ_TOPIC), 'topics-reload');
  t.check(topics.includes(TOPIC) && topics.includes(DLQ_TOPIC), `Topics lists ${TOPIC} and ${DLQ_TOPIC}`, topics);
  t.check(!topics.includes(dlqTopic(GROUP_DLQ)), `with only NORMAL ticked, ${dlqTopic(GROUP_DLQ)} is not listed`, topics);
  await page.check(tid('topic-type-DLQ'));
  await page.check(tid('topic-type-RETRY'));
  topics = await waitAttrs(page, tid('topic-row'), 'data-topic', v => v.includes(dlqTopic(GROUP_DLQ)) && v.includes(retryTopic(GROUP_DLQ)));
  t.check(topics.includes(dlqTopic(GROUP_DLQ)) && topics.includes(retryTopic(GROUP_DLQ)), `ticking DLQ and RETRY lists ${dlqTopic(GROUP_DLQ)} and ${retryTopic(GROUP_DLQ)}`, topics);
  await page.uncheck(tid('topic-type-NORMAL'));
  topics = await waitAttrs(page, tid('topic-row'), 'data-topic', v => !v.includes(TOPIC));
  t.check(!topics.includes(TOPIC) && topics.includes(dlqTopic(GROUP_DLQ)), `unticking NORMAL hides ${TOPIC}`, topics);
  await page.check(tid('topic-type-NORMAL'));
  await page.uncheck(tid('topic-type-DLQ'));
  await page.uncheck(tid('topic-type-RETRY'));
  await page.fill(tid('topic-filter'), 'dlqtop');
  topics = await waitAttrs(page, tid('topic-row'), 'data-topic', v => v.length === 1);
  t.check(topics.length === 1 && topics[0] === DLQ_TOPIC, `the name filter "dlqtop" leaves only ${DLQ_TOPIC}`, topics);
  await page.fill(tid('topic-filter'), '');

  await page.fill(tid('topic-form-name'), CREATED_TOPIC);
  await page.fill(tid('topic-form-read'), String(CREATED_QUEUES));
  await page.fill(tid('topic-form-write'), String(CREATED_QUEUES));
  await page.click(tid('topic-form-submit'));
  o = await outcome(page, tid('topic-form'));
  t.check(o.ok && o.text.includes(CREATED_TOPIC), `creating ${CREATED_TOPIC} shows a notice`, o);
  topics = await waitAttrsReloading(page, tid('topic-row'), 'data-topic', v => v.includes(CREATED_TOPIC), 'topics-reload');
  t.check(topics.includes(CREATED_TOPIC), `${CREATED_TOPIC} is in the list`, topics);
  const apiTopics = await apiGet(base, '/api/topics');
  const created = (apiTopics.topics || []).find(x => x.topic === CREATED_TOPIC);
  t.check(created && Number(created.readQueueNums) === CREATED_QUEUES && Number(created.writeQueueNums) === CREATED_QUEUES && created.type === 'NORMAL',
    `GET /api/topics has ${CREATED_TOPIC}, NORMAL, ${CREATED_QUEUES}/${CREATED_QUEUES} queues`, created);
  try {
    const route = await rm.waitRoute(c.nsAddr, CREATED_TOPIC, { queues: CREATED_QUEUES, timeoutMs: 30000 });
    common.checkRoute(t, route, c, CREATED_TOPIC, CREATED_QUEUES);
  } catch (err) {
    t.check(false, `the name server routes ${CREATED_TOPIC}`, err.message);
  }
  await screenshot(t, page, 'topics');
  await page.locator(`${tid('topic-row')}[data-topic="${CREATED_TOPIC}"] ${tid('topic-delete')}`).click();
  await page.locator(`${tid('topic-row')}[data-topic="${CREATED_TOPIC}"] ${tid('topic-delete-yes')}`).click();
  o = await outcome(page, tid('topic-delete-status'));
  t.check(o.ok && o.text.includes(CREATED_TOPIC), `deleting ${CREATED_TOPIC} (after the inline confirm) shows a notice`, o);
  topics = await waitAttrsReloading(page, tid('topic-row'), 'data-topic', v => v.length > 0 && !v.includes(CREATED_TOPIC), 'topics-reload');
  t.check(!topics.includes(CREATED_TOPIC) && topics.includes(TOPIC), `${CREATED_TOPIC} is gone from the list`, topics);
  let goneRoute;
  await waitFor(async () => {
    goneRoute = await rm.getRoute(c.nsAddr, CREATED_TOPIC);
    return goneRoute.code === rm.ResponseCode.TOPIC_NOT_EXIST;
  }, { timeoutMs: 15000, intervalMs: 500 });
  t.check(goneRoute.code === rm.ResponseCode.TOPIC_NOT_EXIST, `the name server no longer routes ${CREATED_TOPIC}`, goneRoute);

  // ------------------------------------------------------------------------------------------
  step(`browser: topic ${TOPIC}: queues, consumers, route, send, reset to the end`);
  await page.locator(`${tid('topic-row')}[data-topic="${TOPIC}"] ${tid('topic-link')}`).click();
  await page.locator(tid('topic-status-table')).waitFor();
  texts = await waitTexts(page, tid('topic-status-max'), x => x.length === QUEUES);
  const maxBefore = await common.maxOffsets(c.brokerAddr, TOPIC, QUEUES);
  t.check(JSON.stringify(texts.map(num)) === JSON.stringify(maxBefore), `the queue table shows the max offsets ${JSON.stringify(maxBefore)}`, texts);
  const tcRow = page.locator(`${tid('topic-consumer-row')}[data-group="${GROUP_OK}"]`);
  await tcRow.waitFor();
  const tcLag = (await tcRow.locator(tid('topic-consumer-lag')).textContent()).trim();
  t.check(num(tcLag) === sum(maxBefore) - sum(mins), `the topic's consumers include ${GROUP_OK} with lag ${sum(maxBefore) - sum(mins)} (shows ${tcLag})`);
  texts = await waitTexts(page, `${tid('topic-route-brokers')} td`, x => x.some(s => s.includes(c.brokerAddr)));
  t.check(texts.some(s => s.includes(c.brokerAddr)), `the route shows broker-a at ${c.brokerAddr}`, texts);
  await page.fill(tid('send-tags'), 'DashTag');
  await page.fill(tid('send-keys'), 'dash-sent-key');
  await page.fill(tid('send-body'), 'sent from the dashboard test');
  await page.click(tid('send-submit'));
  o = await outcome(page, tid('send-form'));
  t.check(o.ok && /SEND_OK/.test(o.text), 'sending a test message shows a notice with SEND_OK', o);
  const maxAfterSend = await common.maxOffsets(c.brokerAddr, TOPIC, QUEUES);
  t.check(sum(maxAfterSend) === sum(maxBefore) + 1, `GET_MAX_OFFSET: ${TOPIC} holds one more message (${sum(maxBefore)} -> ${sum(maxAfterSend)})`);
  texts = await waitTexts(page, tid('topic-status-max'), x => x.length === QUEUES && sum(x.map(num)) === sum(maxAfterSend));
  t.check(sum(texts.map(num)) === sum(maxAfterSend), `after the send the queue table shows ${sum(maxAfterSend)} messages`, texts);
  await page.fill(tid('topic-reset-offset-group'), GROUP_OK);
  await page.check(tid('topic-reset-offset-skip'));
  await page.click(tid('topic-reset-offset-submit'));
  o = await outcome(page, tid('topic-reset-offset'));
  t.check(o.ok, `"skip accumulated" for ${GROUP_OK} shows a notice`, o);
  let apiProgress2;
  const skipOk = await waitFor(async () => {
    const g = await apiGet(base, `/api/consumers/${GROUP_OK}`);
    apiProgress2 = (g.progress || []).filter(p => p.topic === TOPIC).sort((a, b) => a.queueId - b.queueId).map(p => Number(p.consumerOffset));
    return JSON.stringify(apiProgress2) === JSON.stringify(maxAfterSend);
  }, { timeoutMs: 10000, intervalMs: 500 });
  t.check(!!skipOk, `GET /api/consumers/${GROUP_OK}: the consumer offsets are the max offsets ${JSON.stringify(maxAfterSend)} after "skip accumulated"`, apiProgress2);
  const rawAfterSkip = await common.committedOffsets(c.brokerAddr, GROUP_OK, TOPIC, QUEUES);
  t.check(JSON.stringify(rawAfterSkip) === JSON.stringify(maxAfterSend), `QUERY_CONSUMER_OFFSET agrees: ${JSON.stringify(rawAfterSkip)}`);
  await page.click(tid('topic-reload'));
  await waitTexts(page, tid('topic-consumer-lag'), x => x.length > 0 && x.every(s => num(s) === 0));
  await screenshot(t, page, 'topic-detail');

  // ------------------------------------------------------------------------------------------
  step('browser: Producers');
  await openPage(page, 'producers', 'producers');
  await page.fill(tid('producer-topic'), TOPIC);
  await page.fill(tid('producer-group'), PRODUCER_GROUP);
  const producerId = ons.clientId(producer);
  let producerRows = [];
  await waitFor(async () => {
    await page.click(tid('producer-submit'));
    await outcomeOrTable(page);
    producerRows = await page.locator(`${tid('producer-row')} td:first-child`).allTextContents();
    return producerRows.includes(producerId);
  }, { timeoutMs: 40000, intervalMs: 1000 });
  t.check(producerRows.includes(producerId), `Producers lists the ali-ons producer ${producerId} of ${PRODUCER_GROUP}`, producerRows);
  await screenshot(t, page, 'producers');

  // ------------------------------------------------------------------------------------------
  step('browser: Messages (by time, by key, by id), message detail');
  await openPage(page, 'messages', 'messages');
  await page.fill(tid('message-topic'), TOPIC);
  await page.click(tid('message-search-submit'));
  const wantIds = Array.from(sent.expected.values()).map(e => e.sendResult.msgId);
  let ids = await waitAttrs(page, tid('message-row'), 'data-offset-msgid', v => wantIds.every(id => v.includes(id)));
  t.check(wantIds.every(id => ids.includes(id)) && ids.length === wantIds.length + 1,
    `the last hour of ${TOPIC} holds the ${wantIds.length} ali-ons messages and the test message (${ids.length} rows)`, { rows: ids.length, missing: wantIds.filter(id => !ids.includes(id)) });
  await page.click(tid('message-tab-key'));
  await page.fill(tid('message-key'), `key-${KEY_IDX}`);
  await page.click(tid('message-search-submit'));
  const keyId = sent.expected.get(KEY_IDX).sendResult.msgId;
  ids = await waitAttrs(page, tid('message-row'), 'data-offset-msgid', v => v.length === 1 && v[0] === keyId);
  t.check(ids.length === 1 && ids[0] === keyId, `searching key key-${KEY_IDX} finds exactly its message ${keyId}`, ids);
  await screenshot(t, page, 'messages');
  await page.locator(`${tid('message-row')}[data-offset-msgid="${keyId}"]`).click();
  texts = await waitTexts(page, tid('detail-offset-msgid'), x => x[0] === keyId);
  t.check(texts[0] === keyId, 'the detail shows the offset message id', texts);
  const body = (await page.locator(tid('message-body')).textContent());
  t.check(body === sent.expected.get(KEY_IDX).body.toString('utf8'), 'the detail shows the body as sent', body);
  texts = await page.locator(`${tid('message-properties')} tr`).allTextContents();
  t.check(texts.some(s => s.startsWith('KEYS') && s.includes(`key-${KEY_IDX}`)) && texts.some(s => s.startsWith(ons.USER_PROP) && s.includes(`user-${KEY_IDX}-`)),
    `the properties table has KEYS key-${KEY_IDX} and ${ons.USER_PROP}`, texts);
  await page.locator(tid('trace-table')).waitFor();
  // A resend to a group without a live client must fail, and the page must show the server's reason.
  await page.fill(tid('resend-group'), 'CID_DASH_NOBODY');
  await page.click(tid('resend-submit'));
  o = await outcome(page, tid('resend-form'));
  const direct = await httpRequest(base, 'POST', `/api/messages/${keyId}/resend`, { body: { group: 'CID_DASH_NOBODY' }, headers: WRITE_HEADERS });
  t.check(!o.ok && direct.status >= 400 && direct.json && o.text === direct.json.error,
    'a resend to a group without clients shows the server\'s error text in .error', { shown: o, server: { status: direct.status, text: direct.text } });
  await screenshot(t, page, 'message-detail');
  await page.click(tid('message-tab-id'));
  const byId = sent.expected.get(3).sendResult.msgId;
  await page.fill(tid('message-id'), byId);
  await page.fill(tid('message-topic'), TOPIC);
  await page.click(tid('message-search-submit'));
  texts = await waitTexts(page, tid('detail-offset-msgid'), x => x[0] === byId);
  t.check(texts[0] === byId, `searching id ${byId} opens its detail`, texts);

  // ------------------------------------------------------------------------------------------
  step(`browser: consumer ${GROUP_DLQ}: its live client and subscriptions`);
  await openPage(page, 'consumers', 'consumers');
  await page.locator(`${tid('consumer-row')}[data-group="${GROUP_DLQ}"] ${tid('consumer-link')}`).click();
  const bId = ons.clientId(dlqB);
  texts = await waitTexts(page, `${tid('consumer-client-row')} td:first-child`, x => x.includes(bId));
  t.check(texts.length === 1 && texts[0] === bId, `the page of ${GROUP_DLQ} lists its one client ${bId}`, texts);
  texts = await waitTexts(page, `${tid('consumer-subscriptions-table')} tbody tr`, x => x.some(r => r.startsWith(DLQ_TOPIC)));
  t.check(texts.some(r => r.startsWith(DLQ_TOPIC) && r.includes('*')), `its subscriptions include ${DLQ_TOPIC} with *`, texts);
  texts = await page.locator(tid('consumer-connection-meta')).allTextContents();
  t.check(texts.length === 1 && /CLUSTERING/.test(texts[0]), 'the connection shows the CLUSTERING message model', texts);
  texts = await page.locator(`${tid('consumer-config-table')} tr`).allTextContents();
  t.check(texts.some(r => r.startsWith('retryMaxTimes') && r.endsWith('1')), `the consume settings show retryMaxTimes 1`, texts);

  step(`browser: DLQ of ${GROUP_DLQ}, resend one message`);
  t.check(dlqSeenB.length === 0, `consumer B of ${GROUP_DLQ} received nothing before the resend`, dlqSeenB);
  await openPage(page, 'dlq', 'dlq');
  await page.fill(tid('dlq-group'), GROUP_DLQ);
  await page.click(tid('dlq-submit'));
  const keys = await waitAttrs(page, tid('dlq-row'), 'data-keys', v => v.length === DLQ_IDX.length);
  t.check(JSON.stringify([ ...keys ].sort()) === JSON.stringify(DLQ_IDX.map(i => `key-${i}`)), `the DLQ table lists the ${DLQ_IDX.length} dead letters`, keys);
  const href = await page.getAttribute(tid('dlq-export'), 'href');
  t.check(href === `/api/dlq/export?group=${GROUP_DLQ}`, 'the Export link points at /api/dlq/export?group=', href);
  const exp = await httpRequest(base, 'GET', href || `/api/dlq/export?group=${GROUP_DLQ}`);
  const exported = exp.json && (Array.isArray(exp.json) ? exp.json : exp.json.messages);
  t.check(exp.status === 200 && /attachment/.test(exp.headers['content-disposition'] || '') && (exp.headers['content-disposition'] || '').includes(`${dlqTopic(GROUP_DLQ)}.json`) &&
    Array.isArray(exported) && exported.length === DLQ_IDX.length && exported.every(m => typeof m.body === 'string' && m.properties),
  `the export is an attachment ${dlqTopic(GROUP_DLQ)}.json with ${DLQ_IDX.length} detailed messages`, { status: exp.status, cd: exp.headers['content-disposition'], text: exp.text.slice(0, 300) });
  const resendIdx = DLQ_IDX[0];
  await page.locator(`${tid('dlq-row')}[data-keys="key-${resendIdx}"] ${tid('dlq-check')}`).check();
  const resendAt = Date.now();
  await page.click(tid('dlq-resend'));
  o = await outcome(page, tid('dlq-resend-status'));
  t.check(o.ok, `"Resend selected" (key-${resendIdx}) shows a notice`, o);
  await screenshot(t, page, 'dlq');
  const got = await waitFor(() => dlqSeenB.find(d => d.i === resendIdx), { timeoutMs: 30000, intervalMs: 200 });
  t.check(!!got && got.at >= resendAt && got.body === dlqSent.get(resendIdx).body.toString('utf8') && got.keys === `key-${resendIdx}`,
    `consumer B of ${GROUP_DLQ} receives the resent message key-${resendIdx} again, unchanged`, got || dlqSeenB);
  await cluster.sleep(3000);
  t.check(dlqSeenB.length === 1, `consumer B received only the resent message (not key-${DLQ_IDX[1]}, not twice)`, dlqSeenB);

  // ------------------------------------------------------------------------------------------
  step('cross-site writes are refused');
  const evil = 'DashEvilTopic';
  const refusals = [
    [ 'POST without X-Ramjet-Dashboard', 'POST', '/api/topics', { 'Content-Type': 'application/json' } ],
    [ 'POST with Origin http://evil.example', 'POST', '/api/topics', Object.assign({ Origin: 'http://evil.example' }, WRITE_HEADERS) ],
    [ 'POST with Sec-Fetch-Site: cross-site', 'POST', '/api/topics', Object.assign({ 'Sec-Fetch-Site': 'cross-site' }, WRITE_HEADERS) ],
    [ 'POST with Content-Type text/plain', 'POST', '/api/topics', { 'Content-Type': 'text/plain', 'X-Ramjet-Dashboard': '1' } ],
  ];
  for (const [ what, method, p, headers ] of refusals) {
    const r = await httpRequest(base, method, p, { body: { topic: evil, readQueueNums: 1, writeQueueNums: 1, perm: 6, order: false }, headers });
    t.check(r.status === 403 && r.json && typeof r.json.error === 'string', `${what}: 403 with a JSON error`, { status: r.status, text: r.text.slice(0, 200) });
  }
  const delEvil = await httpRequest(base, 'DELETE', `/api/topics/${TOPIC}`, { headers: { Origin: 'http://evil.example', 'Content-Type': 'application/json', 'X-Ramjet-Dashboard': '1' } });
  t.check(delEvil.status === 403, `DELETE /api/topics/${TOPIC} with Origin http://evil.example: 403`, { status: delEvil.status, text: delEvil.text.slice(0, 200) });
  const evilRoute = await rm.getRoute(c.nsAddr, evil);
  const stillThere = await rm.getRoute(c.nsAddr, TOPIC);
  t.check(evilRoute.code === rm.ResponseCode.TOPIC_NOT_EXIST && stillThere.code === rm.ResponseCode.SUCCESS,
    `the refused writes changed nothing: ${evil} does not exist, ${TOPIC} still does`, { evil: evilRoute.code, topic: stillThere.code });
  const cors = await httpRequest(base, 'GET', '/api/topics', { headers: { Origin: 'http://evil.example' } });
  t.check(!('access-control-allow-origin' in cors.headers), 'no Access-Control-Allow-Origin header on an answer to another origin', cors.headers);
  // DNS rebinding: a page whose own name resolves to the dashboard sends its own Host.
  const rebound = await httpRequest(base, 'GET', '/api/cluster', { headers: { Host: 'evil.example:8080' } });
  t.check(rebound.status === 403 && rebound.json && /Host/.test(rebound.json.error || ''),
    'a request naming another host (DNS rebinding) is refused with 403', { status: rebound.status, text: rebound.text.slice(0, 200) });
  // An offset message id carries the address of the broker to ask: one naming a host outside the
  // cluster (10.255.255.1:1) is refused without connecting there.
  const foreignId = '0AFFFF01' + '00000001' + '0000000000000000';
  const relay = await httpRequest(base, 'GET', `/api/messages/${foreignId}`);
  t.check(relay.status === 404 && /not a broker of this cluster/.test((relay.json && relay.json.error) || ''),
    'a message id naming a host outside the cluster is refused (the dashboard is no relay)', { status: relay.status, text: relay.text.slice(0, 200) });

  t.check(pageErrors.length === 0, 'no uncaught error in the page', pageErrors);

  step('shut down');
  await browser.close();
  await ons.closeClient(dlqB, 'dlq consumer B');
  dlqB = null;
  await ons.closeClient(producer, 'producer');
  await common.stopChecked(t, c.broker, 'broker');
  await common.stopChecked(t, c.namesrv, 'name server');
  ons.printProblemSummary();
}, { timeoutMs: 480000 });

/** Waits until the producers search has answered (its table or an error is shown). */
async function outcomeOrTable(page) {
  await page.locator(`${tid('producer-table')}, .error`).first().waitFor({ timeout: UI_TIMEOUT_MS });
  await page.locator('.loading').first().waitFor({ state: 'detached', timeout: UI_TIMEOUT_MS }).catch(() => {});
}
