// #/ : clusters, brokers, counts, total lag and the in/out TPS of the last hour (every 5 s).
import { fmtNum, fmtRatio, fmtTps } from '../api.js';
import { ErrorBox, Loading, Section, TpsChart, useApi } from '../components.jsx';

const REFRESH_MS = 5000;

function Stat({ label, value, testid }) {
  return (
    <div class="stat">
      <div class="stat-value" data-testid={testid}>{value}</div>
      <div class="stat-label">{label}</div>
    </div>
  );
}

function BrokerCard({ b }) {
  return (
    <div class="broker-card" data-testid="overview-broker" data-addr={b.addr}>
      <div class="broker-card-head">
        <strong>{b.brokerName}</strong>
        <span class={`badge ${String(b.role).includes('MASTER') ? 'badge-blue' : ''}`}>{b.role}</span>
      </div>
      <div class="mono">{b.addr}</div>
      <dl>
        <dt>cluster</dt><dd>{b.cluster}</dd>
        <dt>id</dt><dd>{b.brokerId}</dd>
        <dt>version</dt><dd>{b.version}</dd>
        <dt>in / out TPS</dt><dd>{fmtTps(b.inTps)} / {fmtTps(b.outTps)}</dd>
        <dt>today put / get</dt><dd>{fmtNum(b.msgPutTotalToday)} / {fmtNum(b.msgGetTotalToday)}</dd>
        <dt>disk</dt><dd>{fmtRatio(b.diskRatio)}</dd>
      </dl>
    </div>
  );
}

export function Overview() {
  const api = useApi('/api/overview', { intervalMs: REFRESH_MS });
  const d = api.data;
  return (
    <>
      <div class="page-head">
        <h1>Overview</h1>
        {api.loading && <Loading text={d ? 'Refreshing…' : 'Loading…'} />}
      </div>
      <ErrorBox error={api.error} />
      {d && (
        <>
          <div class="stats" data-testid="overview-stats">
            <Stat label="clusters" value={(d.clusters || []).join(', ') || '—'} testid="overview-clusters" />
            <Stat label="brokers" value={fmtNum((d.brokers || []).length)} testid="overview-broker-count" />
            <Stat label="topics" value={fmtNum(d.topicCount)} testid="overview-topic-count" />
            <Stat label="consumer groups" value={fmtNum(d.groupCount)} testid="overview-group-count" />
            <Stat label="total lag" value={fmtNum(d.totalLag)} testid="overview-total-lag" />
          </div>
          <Section title="Brokers" testid="overview-brokers">
            <div class="broker-cards">
              {(d.brokers || []).map(b => <BrokerCard key={`${b.addr}/${b.brokerId}`} b={b} />)}
              {!(d.brokers || []).length && <p class="empty">no broker is registered</p>}
            </div>
          </Section>
          <Section title="Messages per second (all masters, last hour)" testid="overview-tps">
            <TpsChart history={d.history || []} />
          </Section>
        </>
      )}
    </>
  );
}
