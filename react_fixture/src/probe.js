// The one place where a probe's fetch happens. Kept free of React so it can be
// read (and reasoned about) next to the Fetch standard: what the page can see is
// exactly what this function returns.

/** Perform one fetch as `spec` describes; resolve (never reject) with what the page saw. */
export async function runProbe(spec) {
  const init = {
    method: spec.method || "GET",
    headers: spec.headers || {},
    credentials: spec.credentials || "same-origin",
    mode: spec.mode || "cors",
    redirect: spec.redirect || "follow",
    cache: spec.cache || "default",
  };
  if (spec.referrer !== undefined && spec.referrer !== null) init.referrer = spec.referrer;
  if (spec.referrerPolicy) init.referrerPolicy = spec.referrerPolicy;
  if (spec.body !== undefined && spec.body !== null) init.body = spec.body;
  if (spec.keepalive) init.keepalive = true;
  const started = performance.now();
  const seen = {
    outcome: null,
    status: null,
    statusText: null,
    type: null,
    body: null,
    headers: {},
    readableHeaders: null,
    errorName: null,
    errorMessage: null,
    elapsedMs: null,
    url: null,
    redirected: null,
  };
  try {
    // the Request constructor's own TypeErrors (no-cors with PUT, say) are no CORS check:
    // nothing was sent. The fetch below still gets (url, init), as an app's code does:
    // Firefox applies the keepalive quota to fetch(url, init) but not to fetch(request).
    new Request(spec.url, init);
  } catch (err) {
    seen.outcome = "invalid-request";
    seen.errorName = err ? err.name : "Error";
    seen.errorMessage = err ? String(err.message) : "unknown";
    for (const name of spec.readHeaders || []) seen.headers[name] = null;
    seen.elapsedMs = Math.round((performance.now() - started) * 10) / 10;
    return seen;
  }
  try {
    const response = await fetch(spec.url, init);
    seen.type = response.type;
    seen.status = response.status;
    seen.statusText = response.statusText;
    seen.redirected = response.redirected; // its URL list has more than one URL
    if (response.type === "opaque" || response.type === "opaqueredirect") {
      seen.outcome = "opaque";
    } else {
      seen.outcome = response.ok ? "ok" : "http-error";
      seen.url = response.url; // the final URL, after redirects (no fragment)
    }
    for (const name of spec.readHeaders || []) {
      seen.headers[name] = response.headers.get(name);
    }
    // every header name the page can read (values only for readHeaders: a value may be a secret)
    seen.readableHeaders = [...response.headers.keys()];
    const type = (response.headers.get("content-type") || "").toLowerCase();
    if (type.startsWith("text/event-stream")) {
      // a stream never ends: what crossed is decided by the head; read no body, close it
      try {
        await response.body.cancel();
      } catch (err) {
        // already closed
      }
    } else {
      try {
        seen.body = await response.text();
      } catch (err) {
        seen.body = null;
      }
    }
  } catch (err) {
    seen.outcome = err && err.name === "TypeError" ? "cors-error" : "error";
    seen.errorName = err ? err.name : "Error";
    seen.errorMessage = err ? String(err.message) : "unknown";
    for (const name of spec.readHeaders || []) seen.headers[name] = null;
  }
  seen.elapsedMs = Math.round((performance.now() - started) * 10) / 10;
  return seen;
}
