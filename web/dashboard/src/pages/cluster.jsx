// #/cluster : every broker of the cluster, with its configuration and runtime information.
import { useState } from 'preact/hooks';
import { enc, fmtRatio, fmtTps, get } from '../api.js';
import { ActionStatus, Empty, KVTable, LoadStatus, Section, useAction, useApi } from '../components.jsx';

export function Cluster() {
  const api = useApi('/api/cluster');
  const config = useAction();
  // {kind: 'config' | 'runtime', broker}
  const [ shown, setShown ] = useState(null);
  const brokers = (api.data && api.data.brokers) || [];

  const showConfig = b => {
    setShown({ kind: 'config', broker: b });
    config.run(() => get(`/api/brokers/config?addr=${enc(b.addr)}`));
  };
  const showRuntime = b => {
    config.clear();
    setShown({ kind: 'runtime', broker: b });
  };

  return (
    <>
      <div class="page-head">
        <h1>Cluster</h1>
        <button type="button" onClick={api.reload} data-testid="cluster-reload">Reload</button>
      </div>
      <LoadStatus api={api} />
      <Section title="Brokers">
        <table class="table" data-testid="cluster-table">
          <thead>
            <tr>
              <th>cluster</th><th>broker</th><th>id</th><th>address</th><th>role</th><th>version</th>
              <th class="num">in TPS</th><th class="num">out TPS</th><th class="num">disk</th><th />
            </tr>
          </thead>
          <tbody>
            {brokers.map(b => (
              <tr key={`${b.addr}/${b.brokerId}`} data-testid="broker-row" data-addr={b.addr}>
                <td>{b.cluster}</td>
                <td>{b.brokerName}</td>
                <td>{b.brokerId}</td>
                <td class="mono" data-testid="broker-addr">{b.addr}</td>
                <td>{b.role}</td>
                <td>{b.version}</td>
                <td class="num">{fmtTps(b.inTps)}</td>
                <td class="num">{fmtTps(b.outTps)}</td>
                <td class="num">{fmtRatio(b.diskRatio)}</td>
                <td class="actions">
                  <button type="button" onClick={() => showConfig(b)} data-testid="broker-config-btn">Config</button>
                  <button type="button" onClick={() => showRuntime(b)} data-testid="broker-runtime-btn">Runtime</button>
                </td>
              </tr>
            ))}
            {api.data && !brokers.length && <Empty cols={10} text="no broker is registered" />}
          </tbody>
        </table>
      </Section>
      {shown && shown.kind === 'config' && (
        <Section title={`Configuration of ${shown.broker.brokerName} (${shown.broker.addr})`} testid="broker-config"
          actions={<button type="button" onClick={() => setShown(null)}>Close</button>}>
          <ActionStatus action={config} />
          {config.result && <KVTable map={config.result.config} filter testid="broker-config-table" />}
        </Section>
      )}
      {shown && shown.kind === 'runtime' && (
        <Section title={`Runtime of ${shown.broker.brokerName} (${shown.broker.addr})`} testid="broker-runtime"
          actions={<button type="button" onClick={() => setShown(null)}>Close</button>}>
          <KVTable map={shown.broker.runtime} filter testid="broker-runtime-table" />
        </Section>
      )}
    </>
  );
}
