// #/messages : find messages by topic and time, by key or by id; a message's detail, trace and
// a resend to a consumer. #/messages?id=<id>&topic=<topic> opens a message directly.
import { useState } from 'preact/hooks';
import { enc, fmtBytes, fmtTime, fromLocalInput, get, post, show, toLocalInput, withQuery } from '../api.js';
import { ActionStatus, Empty, KVTable, LoadStatus, Section, useAction, useApi, useForm } from '../components.jsx';

const TABS = [
  { id: 'time', label: 'Topic and time' },
  { id: 'key', label: 'Key' },
  { id: 'id', label: 'Message id' },
];

/** Rows of Summary objects; onOpen(summary) when a row is clicked. */
export function MessageTable({ messages, onOpen, selected, testid = 'message-table' }) {
  return (
    <table class="table clickable" data-testid={testid}>
      <thead>
        <tr><th>message id</th><th>topic</th><th>tags</th><th>keys</th><th class="num">queue</th><th class="num">offset</th><th>stored</th><th class="num">size</th><th class="num">retries</th></tr>
      </thead>
      <tbody>
        {messages.map(m => (
          <tr key={m.offsetMsgId} class={selected === m.offsetMsgId ? 'selected' : ''} onClick={() => onOpen(m)}
            data-testid="message-row" data-msgid={m.msgId} data-offset-msgid={m.offsetMsgId}>
            <td class="mono" title={`offset message id ${m.offsetMsgId}`}>{m.msgId}</td>
            <td>{m.topic}</td>
            <td>{m.tags}</td>
            <td>{m.keys}</td>
            <td class="num">{m.queueId}</td>
            <td class="num">{m.queueOffset}</td>
            <td>{fmtTime(m.storeTimestamp)}</td>
            <td class="num">{fmtBytes(m.bodySize)}</td>
            <td class="num">{m.reconsumeTimes}</td>
          </tr>
        ))}
        {!messages.length && <Empty cols={9} text="no message found" />}
      </tbody>
    </table>
  );
}

function Trace({ trace }) {
  const records = [ ...trace ].sort((a, b) => Number(a.timestamp) - Number(b.timestamp));
  return (
    <table class="table timeline" data-testid="trace-table">
      <thead><tr><th>time</th><th>type</th><th>group</th><th>client host</th><th class="num">cost ms</th><th>status</th><th class="num">retries</th></tr></thead>
      <tbody>
        {records.map((r, i) => (
          <tr key={i} data-testid="trace-row" data-type={r.type}>
            <td>{fmtTime(r.timestamp)}</td>
            <td><span class={`badge trace-${r.type}`}>{r.type}</span></td>
            <td>{r.group}</td>
            <td class="mono">{r.clientHost}</td>
            <td class="num">{show(r.costTime)}</td>
            <td class={r.success === false ? 'bad' : ''}>{r.status || (r.success === false ? 'failed' : r.success ? 'success' : '')}</td>
            <td class="num">{show(r.retryTimes)}</td>
          </tr>
        ))}
        {!records.length && <Empty cols={7} text="no trace record (is message tracing on in the clients?)" />}
      </tbody>
    </table>
  );
}

function ResendForm({ offsetMsgId }) {
  const [ f, bind ] = useForm({ group: '', clientId: '' });
  const action = useAction();
  const submit = e => {
    e.preventDefault();
    const body = { group: f.group.trim() };
    if (f.clientId.trim()) body.clientId = f.clientId.trim();
    action.run(() => post(`/api/messages/${enc(offsetMsgId)}/resend`, body),
      r => `Resent to ${body.group}: ${r.result}${r.remark ? ` (${r.remark})` : ''}`);
  };
  return (
    <form class="form" onSubmit={submit} data-testid="resend-form">
      <label>Consumer group <input {...bind('group')} required data-testid="resend-group" /></label>
      <label>Client id <input {...bind('clientId')} placeholder="any live client" data-testid="resend-client" /></label>
      <div class="form-actions"><button type="submit" class="primary" disabled={action.busy} data-testid="resend-submit">Resend to consumer</button></div>
      <ActionStatus action={action} testid="resend-status" />
    </form>
  );
}

export function MessageDetail({ id, topic, onClose }) {
  const api = useApi(withQuery(`/api/messages/${enc(id)}`, { topic }));
  const m = api.data && api.data.message;
  return (
    <Section title={`Message ${id}`} testid="message-detail"
      actions={onClose && <button type="button" onClick={onClose} data-testid="message-detail-close">Close</button>}>
      <LoadStatus api={api} />
      {m && (
        <>
          <dl class="fields" data-testid="message-fields">
            <dt>message id</dt><dd class="mono" data-testid="detail-msgid">{m.msgId}</dd>
            <dt>offset message id</dt><dd class="mono" data-testid="detail-offset-msgid">{m.offsetMsgId}</dd>
            <dt>topic</dt><dd>{m.topic}</dd>
            <dt>tags / keys</dt><dd>{m.tags || '—'} / {m.keys || '—'}</dd>
            <dt>queue</dt><dd>{m.brokerName} queue {m.queueId} offset {m.queueOffset}</dd>
            <dt>born</dt><dd>{fmtTime(m.bornTimestamp)} at {m.bornHost}</dd>
            <dt>stored</dt><dd>{fmtTime(m.storeTimestamp)} at {m.storeHost}</dd>
            <dt>body size / retries</dt><dd>{fmtBytes(m.bodySize)} / {m.reconsumeTimes}</dd>
          </dl>
          <h3>Properties</h3>
          <KVTable map={m.properties} testid="message-properties" />
          <h3>Body {m.bodyEncoding === 'base64' && <span class="badge">base64</span>}</h3>
          <pre class="body" data-testid="message-body">{m.body}</pre>
          <h3>Trace</h3>
          <Trace trace={api.data.trace || []} />
          <h3>Resend to a consumer</h3>
          <ResendForm offsetMsgId={m.offsetMsgId} />
        </>
      )}
    </Section>
  );
}

function defaultRange() {
  const end = Math.ceil((Date.now() + 1) / 60000) * 60000; // the end of this minute
  return { begin: toLocalInput(end - 3600 * 1000), end: toLocalInput(end) };
}

export function Messages({ query }) {
  const linked = query.get('id');
  const [ tab, setTab ] = useState(linked ? 'id' : 'time');
  const [ f, bind ] = useForm({ topic: query.get('topic') || '', key: '', id: linked || '', max: '64', ...defaultRange() });
  const search = useAction();
  // {id, topic} of the message shown in the detail panel
  const [ open, setOpen ] = useState(linked ? { id: linked, topic: query.get('topic') || '' } : null);

  const submit = e => {
    e.preventDefault();
    const topic = f.topic.trim();
    if (tab === 'id') {
      search.clear();
      setOpen({ id: f.id.trim(), topic });
      return;
    }
    setOpen(null);
    if (tab === 'key') {
      search.run(() => get(withQuery('/api/messages', { topic, key: f.key.trim() })));
    } else {
      const begin = fromLocalInput(f.begin);
      const end = fromLocalInput(f.end);
      if (!Number.isFinite(begin) || !Number.isFinite(end)) {
        search.run(() => Promise.reject(new Error('enter a begin and an end time')));
        return;
      }
      search.run(() => get(withQuery('/api/messages', { topic, begin, end, max: f.max })));
    }
  };
  const messages = (search.result && search.result.messages) || [];

  return (
    <>
      <div class="page-head"><h1>Messages</h1></div>
      <Section>
        <div class="tabs" role="tablist">
          {TABS.map(t => (
            <button type="button" role="tab" key={t.id} class={tab === t.id ? 'tab active' : 'tab'} aria-selected={tab === t.id}
              onClick={() => setTab(t.id)} data-testid={`message-tab-${t.id}`}>{t.label}</button>
          ))}
        </div>
        <form class="form" onSubmit={submit} data-testid={`message-search-${tab}`}>
          <label>Topic <input {...bind('topic')} required={tab !== 'id'} placeholder={tab === 'id' ? 'needed for a unique key' : ''} data-testid="message-topic" /></label>
          {tab === 'time' && (
            <>
              <label>From <input type="datetime-local" {...bind('begin')} required data-testid="message-begin" /></label>
              <label>To <input type="datetime-local" {...bind('end')} required data-testid="message-end" /></label>
              <label>At most <input type="number" min="1" max="1000" {...bind('max')} data-testid="message-max" /></label>
            </>
          )}
          {tab === 'key' && <label>Key <input {...bind('key')} required data-testid="message-key" /></label>}
          {tab === 'id' && <label class="wide">Message id <input {...bind('id')} required placeholder="offset message id, or unique key with its topic" data-testid="message-id" /></label>}
          <div class="form-actions"><button type="submit" class="primary" disabled={search.busy} data-testid="message-search-submit">Search</button></div>
        </form>
        <ActionStatus action={search} testid="message-search-status" />
        {search.result && (
          <>
            <p class="meta" data-testid="message-count">
              {messages.length} message{messages.length === 1 ? '' : 's'}{search.result.truncated ? ' (truncated: narrow the range or raise the limit)' : ''}
            </p>
            <MessageTable messages={messages} selected={open && open.id}
              onOpen={m => setOpen({ id: m.offsetMsgId, topic: m.topic })} />
          </>
        )}
      </Section>
      {open && open.id && <MessageDetail key={`${open.id}/${open.topic}`} id={open.id} topic={open.topic} onClose={() => setOpen(null)} />}
    </>
  );
}
