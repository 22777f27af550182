// The Ramjet dashboard: a single-page app routed by the URL hash (#/topics, #/consumers/<group>).
import 'uplot/dist/uPlot.min.css';
import './app.css';
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { Overview } from './pages/overview.jsx';
import { Cluster } from './pages/cluster.jsx';
import { Topics } from './pages/topics.jsx';
import { TopicDetail } from './pages/topic_detail.jsx';
import { Consumers } from './pages/consumers.jsx';
import { ConsumerDetail } from './pages/consumer_detail.jsx';
import { Producers } from './pages/producers.jsx';
import { Messages } from './pages/messages.jsx';
import { Dlq } from './pages/dlq.jsx';

const NAV = [
  { id: 'overview', path: '', label: 'Overview' },
  { id: 'cluster', path: 'cluster', label: 'Cluster' },
  { id: 'topics', path: 'topics', label: 'Topics' },
  { id: 'consumers', path: 'consumers', label: 'Consumers' },
  { id: 'producers', path: 'producers', label: 'Producers' },
  { id: 'messages', path: 'messages', label: 'Messages' },
  { id: 'dlq', path: 'dlq', label: 'DLQ' },
];

/** '#/consumers/CID%25x?y=1' -> {segs: ['consumers', 'CID%x'], query}. */
function parseHash(hash) {
  const h = (hash || '').replace(/^#\/?/, '');
  const [ path, q = '' ] = h.split('?');
  const segs = path.split('/').filter(Boolean).map(s => {
    try {
      return decodeURIComponent(s);
    } catch (err) {
      return s;
    }
  });
  return { segs, query: new URLSearchParams(q) };
}

function useHash() {
  const [ hash, setHash ] = useState(location.hash);
  useEffect(() => {
    const on = () => setHash(location.hash);
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return hash;
}

function page({ segs, query }) {
  const [ first, second ] = segs;
  switch (first) {
    case undefined: return <Overview />;
    case 'cluster': return <Cluster />;
    case 'topics': return second ? <TopicDetail key={second} topic={second} /> : <Topics />;
    case 'consumers': return second ? <ConsumerDetail key={second} group={second} /> : <Consumers />;
    case 'producers': return <Producers />;
    case 'messages': return <Messages key={query.toString()} query={query} />;
    case 'dlq': return <Dlq initialGroup={query.get('group') || ''} />;
    default: return <div class="card"><h2>Not found</h2><p>No page <code>#/{segs.join('/')}</code>.</p></div>;
  }
}

function App() {
  const route = parseHash(useHash());
  const current = route.segs[0] || '';
  return (
    <>
      <header class="topbar">
        <a class="brand" href="#/">Ramjet</a>
        <nav data-testid="nav">
          {NAV.map(n => (
            <a key={n.id} href={`#/${n.path}`} class={current === n.path ? 'active' : ''} data-testid={`nav-${n.id}`}>{n.label}</a>
          ))}
        </nav>
      </header>
      <main class="content" data-testid={`page-${current || 'overview'}`}>
        {page(route)}
      </main>
    </>
  );
}

render(<App />, document.getElementById('app'));
