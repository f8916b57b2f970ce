// A probe sent with XMLHttpRequest, as axios and older apps do: the same CORS protocol as
// fetch (XHR's send() is a fetch with mode "cors", credentials "include" when withCredentials
// is set, else "same-origin"), seen through XHR's own surface. What the page sees has the
// same shape as runProbe's, so a cell is judged the same way.

/** Send one XHR as `spec` describes; resolve (never reject) with what the page saw. (The
 * `seen` shape repeats runProbe's on purpose: runProbe is serialized whole into the sandboxed
 * iframe, so it can share no helper.) */
export function runXhr(spec) {
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
  };
  const done = () => {
    seen.elapsedMs = Math.round((performance.now() - started) * 10) / 10;
    return seen;
  };
  return new Promise((resolve) => {
    const xhr = new XMLHttpRequest();
    try {
      // open()'s username and password go into the request's URL (XHR, open() step 9)
      if ("user" in spec || "password" in spec) {
        xhr.open(spec.method || "GET", spec.url, true, spec.user ?? null, spec.password ?? null);
      } else {
        xhr.open(spec.method || "GET", spec.url, true);
      }
      xhr.withCredentials = spec.credentials === "include";
      for (const [name, value] of Object.entries(spec.headers || {})) {
        xhr.setRequestHeader(name, value);
      }
      // XHR's upload listener flag sets the request's use-CORS-preflight flag (XHR, send())
      if (spec.uploadListener) xhr.upload.addEventListener("progress", () => {});
    } catch (err) {
      seen.outcome = "invalid-request";
      seen.errorName = err ? err.name : "Error";
      seen.errorMessage = err ? String(err.message) : "unknown";
      for (const name of spec.readHeaders || []) seen.headers[name] = null;
      resolve(done());
      return;
    }
    xhr.onload = () => {
      seen.status = xhr.status;
      seen.statusText = xhr.statusText;
      seen.url = xhr.responseURL; // the final URL, after redirects (no fragment)
      seen.outcome = xhr.status >= 200 && xhr.status <= 299 ? "ok" : "http-error";
      for (const name of spec.readHeaders || []) seen.headers[name] = xhr.getResponseHeader(name);
      // every header name the page can read: getAllResponseHeaders is sorted and lowercased
      const names = xhr
        .getAllResponseHeaders()
        .split("\r\n")
        .filter((line) => line)
        .map((line) => line.slice(0, line.indexOf(":")).trim().toLowerCase());
      seen.readableHeaders = [...new Set(names)].sort();
      seen.body = xhr.responseText;
      resolve(done());
    };
    // a network error (a failed CORS check among them): XHR shows status 0 and an error event
    xhr.onerror = () => {
      seen.outcome = "cors-error";
      seen.errorName = "NetworkError";
      seen.errorMessage = "XMLHttpRequest error event (status 0)";
      for (const name of spec.readHeaders || []) seen.headers[name] = null;
      resolve(done());
    };
    xhr.send(spec.body === undefined ? null : spec.body);
  });
}
