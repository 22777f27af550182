// #/topics : every topic, filtered by name and type; create, update and delete.
import { useState } from 'preact/hooks';
import { del, enc, fmtPerm, post, yesNo } from '../api.js';
import { ActionStatus, ConfirmButton, Empty, LoadStatus, Section, useAction, useApi, useForm } from '../components.jsx';

const TYPES = [ 'NORMAL', 'RETRY', 'DLQ', 'SYSTEM' ];
const EMPTY_FORM = { topic: '', readQueueNums: '8', writeQueueNums: '8', perm: '6', order: false, cluster: '' };

function TopicForm({ form, onSaved }) {
  const [ f, bind, check ] = form;
  const action = useAction();
  const submit = e => {
    e.preventDefault();
    const body = {
      topic: f.topic.trim(),
      readQueueNums: Number(f.readQueueNums),
      writeQueueNums: Number(f.writeQueueNums),
      perm: Number(f.perm),
      order: !!f.order,
    };
    if (f.cluster.trim()) body.cluster = f.cluster.trim();
    action.run(() => post('/api/topics', body),
      r => `Topic ${r.topic} saved on ${(r.brokers || []).join(', ') || 'no broker'}`).then(r => r && onSaved());
  };
  return (
    <form class="form" onSubmit={submit} data-testid="topic-form">
      <label>Topic <input {...bind('topic')} required data-testid="topic-form-name" /></label>
      <label>Read queues <input type="number" min="1" {...bind('readQueueNums')} required data-testid="topic-form-read" /></label>
      <label>Write queues <input type="number" min="1" {...bind('writeQueueNums')} required data-testid="topic-form-write" /></label>
      <label>Permission
        <select {...bind('perm')} data-testid="topic-form-perm">
          <option value="6">read + write (6)</option>
          <option value="4">read only (4)</option>
          <option value="2">write only (2)</option>
        </select>
      </label>
      <label>Cluster <input {...bind('cluster')} placeholder="every cluster" data-testid="topic-form-cluster" /></label>
      <label class="check"><input {...check('order')} data-testid="topic-form-order" /> ordered</label>
      <div class="form-actions">
        <button type="submit" class="primary" disabled={action.busy} data-testid="topic-form-submit">Create / update</button>
      </div>
      <ActionStatus action={action} testid="topic-form-status" />
    </form>
  );
}

export function Topics() {
  const api = useApi('/api/topics');
  const [ filter, setFilter ] = useState('');
  const [ types, setTypes ] = useState({ NORMAL: true, RETRY: false, DLQ: false, SYSTEM: false });
  const form = useForm(EMPTY_FORM);
  const deleting = useAction();
  const all = (api.data && api.data.topics) || [];
  const q = filter.trim().toLowerCase();
  const topics = all
    .filter(t => (TYPES.includes(t.type) ? types[t.type] : true))
    .filter(t => !q || t.topic.toLowerCase().includes(q))
    .sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : 0));

  const edit = t => form[3]({
    topic: t.topic, readQueueNums: String(t.readQueueNums), writeQueueNums: String(t.writeQueueNums),
    perm: String(t.perm), order: !!t.order, cluster: '',
  });
  const remove = t => deleting.run(() => del(`/api/topics/${enc(t)}`), r => `Topic ${r.deleted} deleted`).then(r => r && api.reload());

  return (
    <>
      <div class="page-head">
        <h1>Topics</h1>
        <button type="button" onClick={api.reload} data-testid="topics-reload">Reload</button>
      </div>
      <Section title="Create or update a topic">
        <TopicForm form={form} onSaved={api.reload} />
      </Section>
      <Section title={`Topics (${topics.length} of ${all.length})`}>
        <div class="toolbar">
          <input class="filter" placeholder="Filter by name" value={filter} onInput={e => setFilter(e.currentTarget.value)} data-testid="topic-filter" />
          {TYPES.map(ty => (
            <label class="check" key={ty}>
              <input type="checkbox" checked={types[ty]} onChange={e => setTypes({ ...types, [ty]: e.currentTarget.checked })} data-testid={`topic-type-${ty}`} /> {ty}
            </label>
          ))}
        </div>
        <LoadStatus api={api} />
        <ActionStatus action={deleting} testid="topic-delete-status" />
        <table class="table" data-testid="topics-table">
          <thead>
            <tr><th>topic</th><th>type</th><th class="num">read</th><th class="num">write</th><th>perm</th><th>order</th><th>brokers</th><th /></tr>
          </thead>
          <tbody>
            {topics.map(t => (
              <tr key={t.topic} data-testid="topic-row" data-topic={t.topic}>
                <td><a href={`#/topics/${enc(t.topic)}`} data-testid="topic-link">{t.topic}</a></td>
                <td><span class={`badge type-${t.type}`}>{t.type}</span></td>
                <td class="num">{t.readQueueNums}</td>
                <td class="num">{t.writeQueueNums}</td>
                <td>{fmtPerm(t.perm)}</td>
                <td>{yesNo(t.order)}</td>
                <td>{(t.brokers || []).join(', ')}</td>
                <td class="actions">
                  <button type="button" onClick={() => edit(t)} data-testid="topic-edit">Edit</button>
                  <ConfirmButton label="Delete" question={`Delete ${t.topic}?`} onConfirm={() => remove(t.topic)} testid="topic-delete" />
                </td>
              </tr>
            ))}
            {api.data && !topics.length && <Empty cols={8} text="no topic matches" />}
          </tbody>
        </table>
      </Section>
    </>
  );
}
