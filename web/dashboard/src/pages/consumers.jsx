// #/consumers : every consumer group with its lag and online clients; create or update a group.
import { useState } from 'preact/hooks';
import { enc, fmtNum, post, withQuery, yesNo } from '../api.js';
import { ActionStatus, Empty, LoadStatus, Section, useAction, useApi, useForm } from '../components.jsx';

/** The subscription-group form (POST /api/consumers); `initial` fills it for an update. */
export function GroupForm({ initial, fixedGroup, onSaved, testid = 'group-form' }) {
  const [ f, bind, check ] = useForm({
    group: fixedGroup || '',
    retryMaxTimes: '16',
    consumeBroadcastEnable: false,
    consumeMessageOrderly: false,
    consumeEnable: true,
    ...(initial || {}),
  });
  const action = useAction();
  const submit = e => {
    e.preventDefault();
    const body = {
      group: (fixedGroup || f.group).trim(),
      retryMaxTimes: Number(f.retryMaxTimes),
      consumeBroadcastEnable: !!f.consumeBroadcastEnable,
      consumeMessageOrderly: !!f.consumeMessageOrderly,
      consumeEnable: !!f.consumeEnable,
    };
    action.run(() => post('/api/consumers', body), r => `Group ${r.group} saved`).then(r => r && onSaved && onSaved(r));
  };
  return (
    <form class="form" onSubmit={submit} data-testid={testid}>
      {!fixedGroup && <label>Group <input {...bind('group')} required data-testid={`${testid}-name`} /></label>}
      <label>Max retries <input type="number" min="-1" {...bind('retryMaxTimes')} required data-testid={`${testid}-retry`} /></label>
      <label class="check"><input {...check('consumeEnable')} data-testid={`${testid}-enable`} /> consume enabled</label>
      <label class="check"><input {...check('consumeBroadcastEnable')} data-testid={`${testid}-broadcast`} /> broadcast allowed</label>
      <label class="check"><input {...check('consumeMessageOrderly')} data-testid={`${testid}-orderly`} /> orderly</label>
      <div class="form-actions">
        <button type="submit" class="primary" disabled={action.busy} data-testid={`${testid}-submit`}>{fixedGroup ? 'Update' : 'Create / update'}</button>
      </div>
      <ActionStatus action={action} testid={`${testid}-status`} />
    </form>
  );
}

export function Consumers() {
  const [ showSystem, setShowSystem ] = useState(false);
  const api = useApi(withQuery('/api/consumers', { all: showSystem ? 1 : '' }));
  const [ filter, setFilter ] = useState('');
  const all = (api.data && api.data.groups) || [];
  const q = filter.trim().toLowerCase();
  const groups = all
    .filter(g => !q || g.group.toLowerCase().includes(q) || (g.topics || []).some(t => t.toLowerCase().includes(q)))
    .sort((a, b) => (a.group < b.group ? -1 : a.group > b.group ? 1 : 0));

  return (
    <>
      <div class="page-head">
        <h1>Consumers</h1>
        <button type="button" onClick={api.reload} data-testid="consumers-reload">Reload</button>
      </div>
      <Section title={`Consumer groups (${groups.length} of ${all.length})`}>
        <div class="toolbar">
          <input class="filter" placeholder="Filter by group or topic" value={filter} onInput={e => setFilter(e.currentTarget.value)} data-testid="consumer-filter" />
          <label class="check">
            <input type="checkbox" checked={showSystem} onChange={e => setShowSystem(e.currentTarget.checked)} data-testid="consumer-show-system" /> system groups
          </label>
        </div>
        <LoadStatus api={api} />
        <table class="table" data-testid="consumers-table">
          <thead>
            <tr><th>group</th><th class="num">online</th><th class="num">lag</th><th>topics</th><th class="num">max retries</th><th>broadcast</th><th>orderly</th><th>enabled</th></tr>
          </thead>
          <tbody>
            {groups.map(g => (
              <tr key={g.group} data-testid="consumer-row" data-group={g.group}>
                <td><a href={`#/consumers/${enc(g.group)}`} data-testid="consumer-link">{g.group}</a></td>
                <td class="num" data-testid="consumer-online">{fmtNum(Array.isArray(g.online) ? g.online.length : g.online)}</td>
                <td class="num" data-testid="consumer-lag">{fmtNum(g.lag)}</td>
                <td>{(g.topics || []).join(', ')}</td>
                <td class="num">{g.retryMaxTimes}</td>
                <td>{yesNo(g.consumeBroadcastEnable)}</td>
                <td>{yesNo(g.consumeMessageOrderly)}</td>
                <td>{yesNo(g.consumeEnable)}</td>
              </tr>
            ))}
            {api.data && !groups.length && <Empty cols={8} text="no group matches" />}
          </tbody>
        </table>
      </Section>
      <Section title="Create or update a group">
        <GroupForm onSaved={api.reload} />
      </Section>
    </>
  );
}
