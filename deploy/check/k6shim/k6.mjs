// k6's `check` and `sleep`, synchronous as in k6. Failed checks are counted in `checks`.
export const checks = { passed: 0, failed: 0 };

export function check(value, named) {
  let all = true;
  for (const test of Object.values(named)) {
    const ok = Boolean(test(value));
    checks[ok ? "passed" : "failed"]++;
    all = all && ok;
  }
  return all;
}

export function sleep(seconds) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Math.round(seconds * 1000));
}
