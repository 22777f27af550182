// Shared pieces of the pages: data loading, write actions, status lines, tables, the TPS chart.
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import { enc, fromLocalInput, get, post, show, toLocalInput } from './api.js';

// ---------------------------------------------------------------------------------------------
// Status lines

export function Loading({ text = 'Loading…' }) {
  return <div class="loading" role="status" data-testid="loading"><span class="spinner" aria-hidden="true" />{text}</div>;
}

export function ErrorBox({ error, testid = 'error' }) {
  if (!error) return null;
  return (
    <div class="error" role="alert" data-testid={testid} data-status={error.status}>
      {error.message || String(error)}
    </div>
  );
}

export function Notice({ text, testid = 'notice' }) {
  if (!text) return null;
  return <div class="notice" role="status" data-testid={testid}>{text}</div>;
}

// ---------------------------------------------------------------------------------------------
// Hooks

/**
 * GETs path (nothing when path is null) and again whenever path changes, reload() is called, or,
 * with intervalMs, periodically. Earlier data stays shown while a reload runs; answers to
 * outdated requests are dropped.
 */
export function useApi(path, { intervalMs = 0 } = {}) {
  const [ state, setState ] = useState({ data: null, error: null, loading: !!path });
  const seq = useRef(0);
  const load = useCallback(() => {
    if (!path) return;
    const my = ++seq.current;
    setState(s => ({ ...s, loading: true }));
    get(path).then(
      data => my === seq.current && setState({ data, error: null, loading: false }),
      error => my === seq.current && setState(s => ({ data: s.data, error, loading: false })));
  }, [ path ]);
  useEffect(() => {
    setState({ data: null, error: null, loading: !!path });
    load();
    if (!path || !intervalMs) return () => { seq.current++; };
    const timer = setInterval(load, intervalMs);
    return () => {
      clearInterval(timer);
      seq.current++;
    };
  }, [ load, intervalMs ]);
  return { ...state, reload: load };
}

/**
 * A write (or an on-demand read): run(fn, okText) calls fn, shows a progress line while it
 * runs, then the server's error or the notice okText (a string or a function of the answer).
 */
export function useAction() {
  const [ state, setState ] = useState({ busy: false, error: null, notice: null, result: null });
  const run = useCallback(async (fn, okText) => {
    setState({ busy: true, error: null, notice: null, result: null });
    try {
      const result = await fn();
      const notice = typeof okText === 'function' ? okText(result) : okText || null;
      setState({ busy: false, error: null, notice, result });
      return result;
    } catch (error) {
      setState({ busy: false, error, notice: null, result: null });
      return undefined;
    }
  }, []);
  const clear = useCallback(() => setState({ busy: false, error: null, notice: null, result: null }), []);
  return { ...state, run, clear };
}

/** The progress, error and notice lines of a useAction(). */
export function ActionStatus({ action, testid }) {
  return (
    <div class="status-lines" data-testid={testid}>
      {action.busy && <Loading text="Working…" />}
      <ErrorBox error={action.error} />
      <Notice text={action.notice} />
    </div>
  );
}

/** The loading / error lines of a useApi(). */
export function LoadStatus({ api }) {
  // The progress line only while there is nothing to show yet: on a reload the data stays in
  // place, so nothing below it moves under the user's pointer.
  return (
    <>
      {api.loading && !api.data && <Loading />}
      <ErrorBox error={api.error} />
    </>
  );
}

/** Form state: [values, bind(name) for text inputs, check(name) for checkboxes, set]. */
export function useForm(initial) {
  const [ values, setValues ] = useState(initial);
  const bind = name => ({
    name,
    value: values[name],
    onInput: e => {
      const v = e.currentTarget.value;
      setValues(s => ({ ...s, [name]: v }));
    },
  });
  const check = name => ({
    name,
    type: 'checkbox',
    checked: !!values[name],
    onChange: e => {
      const v = e.currentTarget.checked;
      setValues(s => ({ ...s, [name]: v }));
    },
  });
  return [ values, bind, check, setValues ];
}

// ---------------------------------------------------------------------------------------------
// Layout pieces

export function Section({ title, children, testid, actions }) {
  return (
    <section class="card" data-testid={testid}>
      {(title || actions) && <div class="card-head"><h2>{title}</h2>{actions}</div>}
      {children}
    </section>
  );
}

/** A map as a two-column table, optionally filtered by a text box. */
export function KVTable({ map, testid, filter = false }) {
  const [ q, setQ ] = useState('');
  const entries = Object.entries(map || {})
    .filter(([ k, v ]) => !q || `${k} ${show(v)}`.toLowerCase().includes(q.toLowerCase()))
    .sort(([ a ], [ b ]) => (a < b ? -1 : a > b ? 1 : 0));
  return (
    <div>
      {filter && <input class="filter" placeholder="Filter" value={q} onInput={e => setQ(e.currentTarget.value)} data-testid={testid && `${testid}-filter`} />}
      <table class="table kv" data-testid={testid}>
        <tbody>
          {entries.map(([ k, v ]) => <tr key={k}><th>{k}</th><td>{show(v)}</td></tr>)}
          {!entries.length && <tr><td class="empty" colSpan={2}>nothing</td></tr>}
        </tbody>
      </table>
    </div>
  );
}

/** A button that asks "Really …?" inline before it calls onConfirm. */
export function ConfirmButton({ label, question, onConfirm, testid, disabled }) {
  const [ asking, setAsking ] = useState(false);
  if (!asking) {
    return <button type="button" class="danger" disabled={disabled} data-testid={testid} onClick={() => setAsking(true)}>{label}</button>;
  }
  return (
    <span class="confirm">
      {question}{' '}
      <button type="button" class="danger" data-testid={`${testid}-yes`} onClick={() => { setAsking(false); onConfirm(); }}>Yes</button>
      <button type="button" data-testid={`${testid}-no`} onClick={() => setAsking(false)}>No</button>
    </span>
  );
}

export function Empty({ cols, text = 'nothing' }) {
  return <tr><td class="empty" colSpan={cols}>{text}</td></tr>;
}

// ---------------------------------------------------------------------------------------------
// Chart

const CHART_HEIGHT = 240;

/** In/out TPS over time (history: [{t: ms, inTps, outTps}]) as a uPlot line chart. */
export function TpsChart({ history }) {
  const box = useRef(null);
  const plot = useRef(null);
  const data = [
    history.map(h => Number(h.t) / 1000),
    history.map(h => Number(h.inTps)),
    history.map(h => Number(h.outTps)),
  ];
  useEffect(() => {
    const el = box.current;
    plot.current = new uPlot({
      width: el.clientWidth || 800,
      height: CHART_HEIGHT,
      scales: { x: { time: true }, y: { range: (u, min, max) => [ 0, Math.max(1, max * 1.1) ] } },
      series: [
        {},
        { label: 'In TPS', stroke: '#2563eb', width: 2, value: (u, v) => (v == null ? '' : v.toFixed(2)) },
        { label: 'Out TPS', stroke: '#16a34a', width: 2, value: (u, v) => (v == null ? '' : v.toFixed(2)) },
      ],
      axes: [ {}, { label: 'messages / s' } ],
    }, data, el);
    const resize = new ResizeObserver(() => {
      if (plot.current && el.clientWidth) plot.current.setSize({ width: el.clientWidth, height: CHART_HEIGHT });
    });
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.current.destroy();
      plot.current = null;
    };
  }, []);
  useEffect(() => {
    if (plot.current) plot.current.setData(data);
  }, [ history ]);
  const last = history.length ? history[history.length - 1].t : '';
  return <div class="chart" ref={box} data-testid="tps-chart" data-points={history.length} data-last={last} />;
}

// ---------------------------------------------------------------------------------------------
// Forms used on more than one page

/**
 * Resets the consumer offset of a group on a topic, to the first message stored at or after a
 * time, or to the end ("skip accumulated", timestamp -1). topic / group fixed when given.
 */
export function ResetOffsetForm({ topic, group, topics = [], groups = [], onDone, testid = 'reset-offset' }) {
  const [ f, bind, check ] = useForm({ topic: topic || topics[0] || '', group: group || '', time: toLocalInput(Date.now() - 3600 * 1000), skip: false });
  const action = useAction();
  const submit = e => {
    e.preventDefault();
    const g = (group || f.group).trim();
    const t = (topic || f.topic).trim();
    const timestamp = f.skip ? -1 : fromLocalInput(f.time);
    if (!g || !t) return action.run(() => Promise.reject(new Error('a group and a topic are needed')));
    if (!f.skip && !Number.isFinite(timestamp)) return action.run(() => Promise.reject(new Error('enter a time, or tick "skip accumulated"')));
    return action.run(() => post(`/api/consumers/${enc(g)}/reset-offset`, { topic: t, timestamp }), r => {
      const offs = Object.entries((r && r.offsets) || {}).map(([ q, o ]) => `queue ${q} → ${o}`).join(', ');
      return `Offsets of ${g} on ${t} reset${offs ? `: ${offs}` : ''}`;
    }).then(r => r && onDone && onDone(r));
  };
  return (
    <form class="form" onSubmit={submit} data-testid={testid}>
      {!group && (
        <label>Group
          <input {...bind('group')} list={`${testid}-groups`} required data-testid={`${testid}-group`} />
          <datalist id={`${testid}-groups`}>{groups.map(g => <option key={g} value={g} />)}</datalist>
        </label>
      )}
      {!topic && (
        <label>Topic
          <input {...bind('topic')} list={`${testid}-topics`} required data-testid={`${testid}-topic`} />
          <datalist id={`${testid}-topics`}>{topics.map(t => <option key={t} value={t} />)}</datalist>
        </label>
      )}
      <label>Reset to the first message stored at or after
        <input type="datetime-local" step="1" {...bind('time')} disabled={f.skip} data-testid={`${testid}-time`} />
      </label>
      <label class="check"><input {...check('skip')} data-testid={`${testid}-skip`} /> skip accumulated (to the end)</label>
      <div class="form-actions">
        <button type="submit" class="primary" disabled={action.busy} data-testid={`${testid}-submit`}>Reset offset</button>
      </div>
      <ActionStatus action={action} />
    </form>
  );
}
