// #/producers : the live connections of a producer group on a topic.
import { get, withQuery } from '../api.js';
import { ActionStatus, Empty, Section, useAction, useForm } from '../components.jsx';

export function Producers() {
  const [ f, bind ] = useForm({ topic: '', group: '' });
  const action = useAction();
  const submit = e => {
    e.preventDefault();
    action.run(() => get(withQuery('/api/producers', { topic: f.topic.trim(), group: f.group.trim() })));
  };
  const conns = (action.result && action.result.connections) || [];
  return (
    <>
      <div class="page-head"><h1>Producers</h1></div>
      <Section title="Producer connections">
        <form class="form" onSubmit={submit} data-testid="producer-form">
          <label>Topic <input {...bind('topic')} required data-testid="producer-topic" /></label>
          <label>Producer group <input {...bind('group')} required data-testid="producer-group" /></label>
          <div class="form-actions"><button type="submit" class="primary" disabled={action.busy} data-testid="producer-submit">Search</button></div>
        </form>
        <ActionStatus action={action} />
        {action.result && (
          <table class="table" data-testid="producer-table">
            <thead><tr><th>client id</th><th>address</th><th>language</th><th>version</th></tr></thead>
            <tbody>
              {conns.map(c => (
                <tr key={c.clientId} data-testid="producer-row">
                  <td class="mono">{c.clientId}</td><td class="mono">{c.clientAddr}</td><td>{c.language}</td><td>{c.version}</td>
                </tr>
              ))}
              {!conns.length && <Empty cols={4} text="no connection of this group" />}
            </tbody>
          </table>
        )}
      </Section>
    </>
  );
}
