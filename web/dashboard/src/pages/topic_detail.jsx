// #/topics/<topic> : queues, route and consumers of one topic; send a test message, reset an offset.
import { del, enc, fmtNum, fmtPerm, fmtTime, post } from '../api.js';
import { ActionStatus, ConfirmButton, Empty, LoadStatus, ResetOffsetForm, Section, useAction, useApi, useForm } from '../components.jsx';

function QueueStatus({ api }) {
  const queues = (api.data && api.data.queues) || [];
  return (
    <table class="table" data-testid="topic-status-table">
      <thead><tr><th>broker</th><th class="num">queue</th><th class="num">min offset</th><th class="num">max offset</th><th class="num">messages</th><th>last update</th></tr></thead>
      <tbody>
        {queues.map(q => (
          <tr key={`${q.brokerName}/${q.queueId}`} data-testid="topic-status-row">
            <td>{q.brokerName}</td>
            <td class="num">{q.queueId}</td>
            <td class="num">{fmtNum(q.minOffset)}</td>
            <td class="num" data-testid="topic-status-max">{fmtNum(q.maxOffset)}</td>
            <td class="num">{fmtNum(Number(q.maxOffset) - Number(q.minOffset))}</td>
            <td>{fmtTime(q.lastUpdate)}</td>
          </tr>
        ))}
        {api.data && !queues.length && <Empty cols={6} />}
      </tbody>
    </table>
  );
}

function Route({ api }) {
  const route = (api.data && api.data.route) || {};
  const brokers = route.brokerDatas || [];
  const queues = route.queueDatas || [];
  return (
    <div class="two-col">
      <table class="table" data-testid="topic-route-brokers">
        <thead><tr><th>cluster</th><th>broker</th><th>addresses (id: addr)</th></tr></thead>
        <tbody>
          {brokers.map(b => (
            <tr key={b.brokerName}>
              <td>{b.cluster}</td>
              <td>{b.brokerName}</td>
              <td class="mono">{Object.entries(b.brokerAddrs || {}).map(([ id, a ]) => `${id}: ${a}`).join(', ')}</td>
            </tr>
          ))}
          {api.data && !brokers.length && <Empty cols={3} />}
        </tbody>
      </table>
      <table class="table" data-testid="topic-route-queues">
        <thead><tr><th>broker</th><th class="num">read</th><th class="num">write</th><th>perm</th><th class="num">sys flag</th></tr></thead>
        <tbody>
          {queues.map(q => (
            <tr key={q.brokerName}>
              <td>{q.brokerName}</td>
              <td class="num">{q.readQueueNums}</td>
              <td class="num">{q.writeQueueNums}</td>
              <td>{fmtPerm(q.perm)}</td>
              <td class="num">{q.topicSysFlag}</td>
            </tr>
          ))}
          {api.data && !queues.length && <Empty cols={5} />}
        </tbody>
      </table>
    </div>
  );
}

function TopicConsumers({ api }) {
  const groups = (api.data && api.data.groups) || [];
  return (
    <table class="table" data-testid="topic-consumers-table">
      <thead><tr><th>group</th><th class="num">lag</th><th class="num">queues</th></tr></thead>
      <tbody>
        {groups.map(g => (
          <tr key={g.group} data-testid="topic-consumer-row" data-group={g.group}>
            <td><a href={`#/consumers/${enc(g.group)}`}>{g.group}</a></td>
            <td class="num" data-testid="topic-consumer-lag">{fmtNum(g.lag)}</td>
            <td class="num">{(g.queues || []).length}</td>
          </tr>
        ))}
        {api.data && !groups.length && <Empty cols={3} text="no group has an offset on this topic" />}
      </tbody>
    </table>
  );
}

function SendForm({ topic, onSent }) {
  const [ f, bind ] = useForm({ body: 'Hello from the Ramjet dashboard', tags: '', keys: '' });
  const action = useAction();
  const submit = e => {
    e.preventDefault();
    action.run(() => post(`/api/topics/${enc(topic)}/send`, { body: f.body, tags: f.tags, keys: f.keys }),
      r => `Sent: ${r.status}, msgId ${r.msgId}, offsetMsgId ${r.offsetMsgId}, ${r.brokerName} queue ${r.queueId} offset ${r.queueOffset}`)
      .then(r => r && onSent());
  };
  return (
    <form class="form" onSubmit={submit} data-testid="send-form">
      <label>Tags <input {...bind('tags')} data-testid="send-tags" /></label>
      <label>Keys <input {...bind('keys')} placeholder="space separated" data-testid="send-keys" /></label>
      <label class="wide">Body <textarea rows="3" {...bind('body')} data-testid="send-body" /></label>
      <div class="form-actions"><button type="submit" class="primary" disabled={action.busy} data-testid="send-submit">Send</button></div>
      <ActionStatus action={action} testid="send-status" />
    </form>
  );
}

export function TopicDetail({ topic }) {
  const base = `/api/topics/${enc(topic)}`;
  const status = useApi(`${base}/status`);
  const route = useApi(`${base}/route`);
  const consumers = useApi(`${base}/consumers`);
  const deleting = useAction();
  const groups = ((consumers.data && consumers.data.groups) || []).map(g => g.group);
  const reloadAll = () => {
    status.reload();
    consumers.reload();
  };
  const remove = () => deleting.run(() => del(base), r => `Topic ${r.deleted} deleted`);

  return (
    <>
      <div class="page-head">
        <h1><a href="#/topics">Topics</a> / <span data-testid="topic-title">{topic}</span></h1>
        <button type="button" onClick={reloadAll} data-testid="topic-reload">Reload</button>
        <ConfirmButton label="Delete topic" question={`Delete ${topic}?`} onConfirm={remove} testid="topic-detail-delete" disabled={!!deleting.notice} />
      </div>
      <ActionStatus action={deleting} />
      <Section title="Queues" testid="topic-status">
        <LoadStatus api={status} />
        <QueueStatus api={status} />
      </Section>
      <Section title="Consumer groups" testid="topic-consumers">
        <LoadStatus api={consumers} />
        <TopicConsumers api={consumers} />
      </Section>
      <Section title="Route" testid="topic-route">
        <LoadStatus api={route} />
        <Route api={route} />
      </Section>
      <Section title="Send a test message" testid="topic-send">
        <SendForm topic={topic} onSent={status.reload} />
      </Section>
      <Section title="Reset a consumer offset" testid="topic-reset">
        <ResetOffsetForm topic={topic} groups={groups} onDone={consumers.reload} testid="topic-reset-offset" />
      </Section>
    </>
  );
}
