'use strict';
// Test runner: one test per script, exit code 0 = pass, 1 = failed checks, 2 = error/timeout.

const util = require('util');
const cluster = require('./cluster');

class Checks {
  constructor() {
    this.failures = [];
    this.passed = 0;
  }
  /** Records a failed check (the test keeps going, so that one run shows every problem). */
  check(ok, what, details) {
    if (ok) {
      this.passed++;
      console.error(`  ok   ${what}`);
    } else {
      const text = details === undefined ? what : `${what}: ${typeof details === 'string' ? details : util.inspect(details, { depth: 6, breakLength: 160 })}`;
      this.failures.push(text);
      console.error(`  FAIL ${text}`);
    }
    return ok;
  }
  /** A failed check that makes the rest of the test meaningless. */
  fatal(what, details) {
    this.check(false, what, details);
    const err = new Error(what);
    err.isFatalCheck = true;
    throw err;
  }
  note(text) {
    console.error(`  note ${text}`);
  }
}

function step(text) {
  console.error(`\n== ${text}`);
}

/** Resolves the promise or rejects after ms with a clear message. */
function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/**
 * Polls cond() every intervalMs until it returns truthy, at most timeoutMs. Returns the last value.
 * cond may be async.
 */
async function waitFor(cond, { timeoutMs, intervalMs = 200 }) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await cond();
    if (v) return v;
    if (Date.now() >= deadline) return v;
    await cluster.sleep(intervalMs);
  }
}

/**
 * runTest(name, async t => {...}, {timeoutMs}). t has check/fatal/note, plus t.cleanup(fn) to
 * register cleanup steps, run in reverse order. The temp dirs registered with t.tempDir(dir) are
 * removed at the end (kept on failure when RAMJET_COMPAT_KEEP=1).
 */
function runTest(name, fn, { timeoutMs = 300000 } = {}) {
  const t = new Checks();
  const cleanups = [];
  const dirs = [];
  t.cleanup = f => cleanups.push(f);
  t.tempDir = d => {
    dirs.push(d);
    return d;
  };
  const overall = Number(process.env.RAMJET_COMPAT_TIMEOUT_MS || timeoutMs);
  const started = Date.now();

  let finished = false;
  const finish = async (code, reason) => {
    if (finished) return;
    finished = true;
    for (const f of cleanups.reverse()) {
      try {
        await withTimeout(Promise.resolve().then(f), 20000, 'cleanup step');
      } catch (err) {
        console.error(`[${name}] cleanup: ${err.message}`);
      }
    }
    await cluster.killAll();
    const keep = code !== 0 && process.env.RAMJET_COMPAT_KEEP === '1';
    for (const d of dirs) {
      if (keep) console.error(`[${name}] keeping ${d}`);
      else cluster.removeDir(d);
    }
    const secs = ((Date.now() - started) / 1000).toFixed(1);
    if (code === 0) {
      console.error(`\nPASS ${name} (${t.passed} checks, ${secs} s)`);
    } else {
      console.error(`\nFAIL ${name} (${secs} s): ${reason || ''}`);
      for (const f of t.failures) console.error(`  - ${f}`);
    }
    process.exit(code);
  };

  const watchdog = setTimeout(() => {
    t.failures.push(`test did not finish within ${overall} ms`);
    finish(2, 'timeout');
  }, overall);
  watchdog.unref();

  process.on('SIGINT', () => finish(130, 'interrupted (SIGINT)'));
  process.on('SIGTERM', () => finish(143, 'terminated (SIGTERM)'));
  process.on('unhandledRejection', err => {
    console.error(`[${name}] unhandled rejection:`, err);
  });

  console.error(`== ${name}: binaries from ${cluster.BIN_DIR}`);
  (async () => {
    try {
      await fn(t);
    } catch (err) {
      if (!err.isFatalCheck) {
        t.failures.push(`error: ${err.stack || err.message}`);
      }
      if (err.clusterDir) dirs.push(err.clusterDir);
      return finish(err.isFatalCheck ? 1 : 2, err.message);
    }
    if (t.failures.length) return finish(1, `${t.failures.length} check(s) failed`);
    return finish(0);
  })();
}

module.exports = { runTest, step, withTimeout, waitFor, Checks };
