// A tiny store of probes run on this page, so the React view can show them.
const entries = [];
const listeners = new Set();

export function record(spec, result) {
  entries.push({ spec, result, at: new Date().toISOString() });
  for (const listener of listeners) listener(entries.slice());
}

export function subscribe(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Forget the probes shown so far: a page reused for the next cell starts empty. */
export function clear() {
  entries.length = 0;
  for (const listener of listeners) listener([]);
}
