// #/dlq : the dead letters of a consumer group; resend chosen ones to the group, export them all.
import { useState } from 'preact/hooks';
import { enc, fmtTime, get, post, withQuery } from '../api.js';
import { ActionStatus, Empty, Section, useAction, useForm } from '../components.jsx';

export function Dlq({ initialGroup }) {
  const [ f, bind ] = useForm({ group: initialGroup });
  const search = useAction();
  const resend = useAction();
  // the group whose DLQ is shown, and the chosen offsetMsgIds
  const [ shown, setShown ] = useState('');
  const [ chosen, setChosen ] = useState(new Set());

  const load = group => {
    setShown(group);
    setChosen(new Set());
    return search.run(() => get(withQuery('/api/dlq', { group })));
  };
  const submit = e => {
    e.preventDefault();
    resend.clear();
    load(f.group.trim());
  };
  const messages = (search.result && search.result.messages) || [];
  const toggle = id => {
    const next = new Set(chosen);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    setChosen(next);
  };
  const allChosen = messages.length > 0 && messages.every(m => chosen.has(m.offsetMsgId));
  const toggleAll = () => setChosen(allChosen ? new Set() : new Set(messages.map(m => m.offsetMsgId)));

  const resendChosen = async () => {
    const msgIds = messages.map(m => m.offsetMsgId).filter(id => chosen.has(id));
    const r = await resend.run(async () => {
      const answer = await post('/api/dlq/resend', { group: shown, msgIds });
      const failed = (answer.results || []).filter(x => !x.ok);
      if (failed.length) {
        throw new Error(`${failed.length} of ${msgIds.length} not resent: ${failed.map(x => `${x.msgId}: ${x.error}`).join('; ')}`);
      }
      return answer;
    }, a => `Resent ${(a.results || []).length} message(s) to %RETRY%${shown}: ${(a.results || []).map(x => x.newMsgId).join(', ')}`);
    if (r) setChosen(new Set());
  };

  return (
    <>
      <div class="page-head"><h1>Dead letters</h1></div>
      <Section title="Dead-letter queue of a consumer group">
        <form class="form" onSubmit={submit} data-testid="dlq-form">
          <label>Consumer group <input {...bind('group')} required data-testid="dlq-group" /></label>
          <div class="form-actions"><button type="submit" class="primary" disabled={search.busy} data-testid="dlq-submit">Show</button></div>
        </form>
        <ActionStatus action={search} testid="dlq-search-status" />
        {search.result && (
          <>
            <div class="toolbar">
              <span class="meta" data-testid="dlq-count">{messages.length} message(s) in {search.result.topic}</span>
              <button type="button" class="primary" disabled={!chosen.size || resend.busy} onClick={resendChosen} data-testid="dlq-resend">
                Resend selected ({chosen.size})
              </button>
              <a class="button" href={withQuery('/api/dlq/export', { group: shown })} download data-testid="dlq-export">Export</a>
            </div>
            <ActionStatus action={resend} testid="dlq-resend-status" />
            <table class="table" data-testid="dlq-table">
              <thead>
                <tr>
                  <th><input type="checkbox" checked={allChosen} onChange={toggleAll} aria-label="select all" data-testid="dlq-select-all" /></th>
                  <th>message id</th><th>tags</th><th>keys</th><th class="num">offset</th><th>stored</th><th class="num">retries</th>
                </tr>
              </thead>
              <tbody>
                {messages.map(m => (
                  <tr key={m.offsetMsgId} data-testid="dlq-row" data-msgid={m.msgId} data-offset-msgid={m.offsetMsgId} data-keys={m.keys}>
                    <td><input type="checkbox" checked={chosen.has(m.offsetMsgId)} onChange={() => toggle(m.offsetMsgId)} data-testid="dlq-check" /></td>
                    <td class="mono"><a href={`#/messages?id=${enc(m.offsetMsgId)}&topic=${enc(m.topic)}`}>{m.msgId}</a></td>
                    <td>{m.tags}</td>
                    <td>{m.keys}</td>
                    <td class="num">{m.queueOffset}</td>
                    <td>{fmtTime(m.storeTimestamp)}</td>
                    <td class="num">{m.reconsumeTimes}</td>
                  </tr>
                ))}
                {!messages.length && <Empty cols={7} text="the DLQ is empty" />}
              </tbody>
            </table>
          </>
        )}
      </Section>
    </>
  );
}
