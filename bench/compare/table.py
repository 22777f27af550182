"""Turns bench/compare's runs.jsonl into the markdown table: medians of the runs, their spread
(min-max of throughput), and Ramjet/Apache ratios; then the issue's targets, met or not."""
import json
import os
import statistics
import sys

out = sys.argv[1]
rows = [json.loads(line) for line in open(os.path.join(out, "runs.jsonl")) if line.strip()]
tcp = json.load(open(os.path.join(out, "tcp-baseline.json")))
NAMES = {"ramjet": "Ramjet", "apache4": "Apache 4.9.7", "apache5": "Apache 5.5.0"}
SCENARIOS = [
    ("u64", "1 KiB, 64 in flight (ramjet-load)"),
    ("rate", "1 KiB at a fixed rate (half of Apache 4.9's maximum)"),
    ("b32", "1 KiB in batches of 32"),
    ("b128", "1 KiB in batches of 128"),
    ("k64", "64 KiB, 16 in flight"),
    ("pc", "1 KiB produce + consume together"),
    ("sync", "SYNC_FLUSH (group commit), 1 KiB, 64 in flight"),
    ("t1000", "1,000 topics x 8 queues, 1 KiB, 64 in flight"),
    ("atool", "Apache's benchmark Producer, 64 threads, 1 KiB"),
]


def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def pick(sc, system):
    return [r for r in rows if r["scenario"] == sc and r["system"] == system]


def lat(r, key):
    return r["producer"].get("latency_ms", {}).get(key)


def fmt(v, digits=0):
    if v is None:
        return "-"
    return f"{v:,.{digits}f}"


systems = [s for s in NAMES if any(r["system"] == s for r in rows)]
print("# bench/compare: Ramjet and Apache RocketMQ on one machine\n")
print(open(os.path.join(out, "machine.txt")).read().strip().replace("\n", "  \n"))
print(f"  \nloopback TCP (ramjet-load tcp-baseline): {tcp['mb_per_s']:,.0f} MB/s\n")
print("Medians of the runs; spread = slowest-fastest run. Latency is the send latency (ms) as the "
      "load tool measures it (the benchmark Producer only reports average and max). CPU = broker "
      "utime+stime per million acknowledged messages. RssAnon in MB.\n")
print("| scenario | system | msg/s | spread | MB/s | p50 | p99 | p99.9 | max | e2e p99 | "
      "CPU s/M | RssAnon idle | RssAnon load | start ms | x Apache 4.9 | x Apache 5 |")
print("|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
summary = {}
for sc, title in SCENARIOS:
    for system in systems:
        rs = pick(sc, system)
        if not rs:
            continue
        tput = [r["producer"].get("msg_per_s") for r in rs]
        m = {
            "tput": med(tput),
            "mb": med([r["producer"].get("mb_per_s") for r in rs]),
            "p50": med([lat(r, "p50") for r in rs]),
            "p99": med([lat(r, "p99") for r in rs]),
            "p999": med([lat(r, "p99.9") for r in rs]),
            "max": med([lat(r, "max") for r in rs]),
            "e2e": med([r["consumer"].get("latency_ms", {}).get("p99") for r in rs]),
            "cpu": med([r.get("cpu_s_per_million") for r in rs]),
            "idle": med([r["rss_anon_idle_kb"] / 1024 for r in rs]),
            "peak": med([r["rss_anon_peak_kb"] / 1024 for r in rs]),
            "start": med([r["start_ms"] for r in rs]),
        }
        summary[(sc, system)] = m
        valid = [t for t in tput if t]
        spread = f"{min(valid):,.0f}-{max(valid):,.0f}" if valid else "-"
        print(f"| {title} | {NAMES[system]} | {fmt(m['tput'])} | {spread} | {fmt(m['mb'], 1)} | "
              f"{fmt(m['p50'], 2)} | {fmt(m['p99'], 2)} | {fmt(m['p999'], 2)} | "
              f"{fmt(m['max'], 1)} | {fmt(m['e2e'], 2)} | {fmt(m['cpu'], 1)} | {fmt(m['idle'], 1)} | "
              f"{fmt(m['peak'], 1)} | {fmt(m['start'])} | | |")
    # Ratio rows: Ramjet over each Apache, per column where both have a value.
    r = summary.get((sc, "ramjet"))
    for ref in ("apache4", "apache5"):
        a = summary.get((sc, ref))
        if not r or not a:
            continue

        def ratio(key, inverse=False, word=""):
            if r.get(key) in (None, 0) or a.get(key) in (None, 0):
                return "-"
            v = a[key] / r[key] if inverse else r[key] / a[key]
            return f"{v:.2f}x{word}"
        print(f"| {title} | **Ramjet / {NAMES[ref]}** | **{ratio('tput')}** | | {ratio('mb')} | "
              f"{ratio('p50', True, ' lower')} | {ratio('p99', True, ' lower')} | {ratio('p999', True, ' lower')} | "
              f"{ratio('max', True, ' lower')} | {ratio('e2e', True, ' lower')} | {ratio('cpu', True, ' less')} | "
              f"{ratio('idle', True, ' less')} | {ratio('peak', True, ' less')} | {ratio('start', True, ' faster')} | "
              f"{ratio('tput') if ref == 'apache4' else ''} | {ratio('tput') if ref == 'apache5' else ''} |")

restarts = {s: [r for r in rows if r["scenario"] == "restart4g" and r["system"] == s] for s in systems}
if any(restarts.values()):
    print("\n| restart on a 4 GiB store (clean) | port accepting, ms | first acknowledged send, ms | commit-log files, GiB |")
    print("|---|---:|---:|---:|")
    for s, rs in restarts.items():
        if rs:
            print(f"| {NAMES[s]} | {fmt(med([r['start_ms'] for r in rs]))} | "
                  f"{fmt(med([r['ready_ms'] for r in rs]))} | {med([r['store_bytes'] for r in rs]) / 2**30:.2f} |")

print("\n## Targets of issue 17\n")


def get(sc, system, key):
    return summary.get((sc, system), {}).get(key)


def check(name, value, goal, ok):
    state = "-" if ok is None else ("met" if ok else "**missed**")
    print(f"| {name} | {value} | {goal} | {state} |")


print("| target | measured | goal | |")
print("|---|---|---|---|")
t_r, t_a = get("u64", "ramjet", "tput"), get("u64", "apache4", "tput")
if t_r and t_a:
    check("unbatched 1 KiB vs Apache 4.9 (ramjet-load)", f"{t_r / t_a:.2f}x", ">= 3x", t_r / t_a >= 3)
a_r, a_a = get("atool", "ramjet", "tput"), get("atool", "apache4", "tput")
if a_r and a_a:
    check("Apache's benchmark Producer vs Apache 4.9", f"{a_r / a_a:.2f}x", ">= 2x", a_r / a_a >= 2)
c_r, c_a = get("u64", "ramjet", "cpu"), get("u64", "apache4", "cpu")
if c_r and c_a:
    check("broker CPU per message vs Apache 4.9", f"{c_r / c_a:.3f}", "<= 0.25", c_r / c_a <= 0.25)
m_r, m_a = get("u64", "ramjet", "peak"), get("u64", "apache4", "peak")
if m_r and m_a:
    check("RssAnon under load vs Apache 4.9", f"{m_r / m_a:.4f}", "<= 0.01", m_r / m_a <= 0.01)
p99, p999 = get("rate", "ramjet", "p99"), get("rate", "ramjet", "p999")
if p99 is not None:
    check("send p99 / p99.9 at half of Apache's maximum", f"{p99:.2f} / {p999:.2f} ms",
          "< 2 ms / < 5 ms", p99 < 2 and p999 < 5)
echo_path = os.path.join(out, "tcp-echo.jsonl")
if os.path.exists(echo_path):
    echoes = [json.loads(l) for l in open(echo_path) if l.strip()]
    e99, e999 = med([e["p99_ms"] for e in echoes]), med([e["p999_ms"] for e in echoes])
    check("machine floor at that rate: loopback echo, no broker (tcp-echo p99 / p99.9)",
          f"{e99:.2f} / {e999:.2f} ms", "(reference)", None)
best_batch = max([v for v in (get("b32", "ramjet", "mb"), get("b128", "ramjet", "mb")) if v] or [0])
if best_batch:
    share = best_batch / tcp["mb_per_s"]
    check("batched sends vs loopback TCP", f"{best_batch:,.0f} MB/s = {share:.0%}", ">= 50%", share >= 0.5)
s_r = get("sync", "ramjet", "tput")
if s_r and t_r:
    check("SYNC_FLUSH vs ASYNC_FLUSH (Ramjet, 64 in flight)", f"{s_r / t_r:.0%}", ">= 50%", s_r / t_r >= 0.5)
k_r = get("t1000", "ramjet", "tput")
if k_r and t_r:
    check("1,000 topics vs one topic (Ramjet)", f"{k_r / t_r:.0%}", ">= 80%", k_r / t_r >= 0.8)
rs = restarts.get("ramjet")
if rs:
    v = med([r["ready_ms"] for r in rs])
    check("clean restart on a 4 GiB store (to the first send)", f"{v:,.0f} ms", "< 1 s", v < 1000)
