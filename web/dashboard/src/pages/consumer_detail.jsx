// #/consumers/<group> : lag per queue, connections, subscriptions and settings of one group.
import { useState } from 'preact/hooks';
import { del, enc, fmtNum } from '../api.js';
import { ActionStatus, ConfirmButton, Empty, KVTable, LoadStatus, ResetOffsetForm, Section, useAction, useApi } from '../components.jsx';
import { GroupForm } from './consumers.jsx';

function Progress({ progress }) {
  return (
    <table class="table" data-testid="consumer-progress-table">
      <thead><tr><th>topic</th><th>broker</th><th class="num">queue</th><th class="num">broker offset</th><th class="num">consumer offset</th><th class="num">lag</th></tr></thead>
      <tbody>
        {progress.map(p => (
          <tr key={`${p.topic}/${p.brokerName}/${p.queueId}`} data-testid="consumer-progress-row" data-topic={p.topic} data-queue={p.queueId}>
            <td>{p.topic}</td>
            <td>{p.brokerName}</td>
            <td class="num">{p.queueId}</td>
            <td class="num">{fmtNum(p.brokerOffset)}</td>
            <td class="num" data-testid="consumer-offset">{fmtNum(p.consumerOffset)}</td>
            <td class="num">{fmtNum(p.lag)}</td>
          </tr>
        ))}
        {!progress.length && <Empty cols={6} text="no committed offset" />}
      </tbody>
    </table>
  );
}

function Connection({ conn }) {
  if (!conn) return <p class="empty" data-testid="consumer-offline">No client of this group is online.</p>;
  const clients = conn.clients || [];
  const subs = Object.entries(conn.subscriptions || {});
  return (
    <>
      <p class="meta" data-testid="consumer-connection-meta">
        {conn.consumeType} · {conn.messageModel} · {conn.consumeFromWhere}
      </p>
      <div class="two-col">
        <table class="table" data-testid="consumer-clients-table">
          <thead><tr><th>client id</th><th>address</th><th>language</th><th>version</th></tr></thead>
          <tbody>
            {clients.map(c => (
              <tr key={c.clientId} data-testid="consumer-client-row">
                <td class="mono">{c.clientId}</td><td class="mono">{c.clientAddr}</td><td>{c.language}</td><td>{c.version}</td>
              </tr>
            ))}
            {!clients.length && <Empty cols={4} />}
          </tbody>
        </table>
        <table class="table" data-testid="consumer-subscriptions-table">
          <thead><tr><th>topic</th><th>expression</th></tr></thead>
          <tbody>
            {subs.map(([ t, expr ]) => <tr key={t}><td>{t}</td><td class="mono">{typeof expr === 'string' ? expr : JSON.stringify(expr)}</td></tr>)}
            {!subs.length && <Empty cols={2} />}
          </tbody>
        </table>
      </div>
    </>
  );
}

export function ConsumerDetail({ group }) {
  const api = useApi(`/api/consumers/${enc(group)}`);
  const deleting = useAction();
  const [ editing, setEditing ] = useState(false);
  const d = api.data;
  const progress = (d && d.progress) || [];
  const config = (d && d.config) || {};
  const topics = Array.from(new Set([
    ...progress.map(p => p.topic),
    ...Object.keys((d && d.connection && d.connection.subscriptions) || {}),
  ])).sort((a, b) => (a.startsWith('%') - b.startsWith('%')) || (a < b ? -1 : a > b ? 1 : 0)); // %RETRY% last
  const remove = () => deleting.run(() => del(`/api/consumers/${enc(group)}`), r => `Group ${r.deleted} deleted`);

  return (
    <>
      <div class="page-head">
        <h1><a href="#/consumers">Consumers</a> / <span data-testid="consumer-title">{group}</span></h1>
        <button type="button" onClick={api.reload} data-testid="consumer-reload">Reload</button>
        <ConfirmButton label="Delete group" question={`Delete ${group}?`} onConfirm={remove} testid="consumer-delete" disabled={!!deleting.notice} />
      </div>
      <ActionStatus action={deleting} />
      <LoadStatus api={api} />
      {d && (
        <>
          <div class="stats">
            <div class="stat"><div class="stat-value" data-testid="consumer-total-lag">{fmtNum(d.lag)}</div><div class="stat-label">total lag</div></div>
            <div class="stat"><div class="stat-value">{fmtNum(d.connection ? (d.connection.clients || []).length : 0)}</div><div class="stat-label">clients online</div></div>
          </div>
          <Section title="Lag per queue" testid="consumer-progress"><Progress progress={progress} /></Section>
          <Section title="Connections and subscriptions" testid="consumer-connection"><Connection conn={d.connection} /></Section>
          <Section title="Consume settings" testid="consumer-config"
            actions={<button type="button" onClick={() => setEditing(!editing)} data-testid="consumer-edit">{editing ? 'Close form' : 'Edit'}</button>}>
            {editing && (
              <GroupForm fixedGroup={group} testid="consumer-form" onSaved={api.reload} initial={{
                retryMaxTimes: String(config.retryMaxTimes ?? 16),
                consumeBroadcastEnable: !!config.consumeBroadcastEnable,
                consumeMessageOrderly: !!config.consumeMessageOrderly,
                consumeEnable: config.consumeEnable !== false,
              }} />
            )}
            <KVTable map={config} testid="consumer-config-table" />
          </Section>
          <Section title="Reset the consumer offset" testid="consumer-reset">
            <ResetOffsetForm key={topics.join(',')} group={group} topics={topics} onDone={api.reload} testid="consumer-reset-offset" />
          </Section>
        </>
      )}
    </>
  );
}
