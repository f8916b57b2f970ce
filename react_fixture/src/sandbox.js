// An opaque-origin initiator (WPT's data-url-iframe tests): the probe's fetch runs in a
// sandboxed iframe without allow-same-origin, so its origin is opaque and every request it
// makes carries `Origin: null`. The frame runs the very same runProbe, serialized into it.
import { runProbe } from "./probe.js";

let frames = 0;

/** Run `spec` in a fresh sandboxed iframe and resolve with what that frame saw. */
export function runInSandbox(spec) {
  const id = `cm-sandbox-${++frames}`;
  const frame = document.createElement("iframe");
  frame.sandbox = "allow-scripts";
  frame.style.display = "none";
  const inner = { ...spec, initiator: undefined };
  frame.srcdoc =
    "<script>(" +
    runProbe.toString() +
    `)(${JSON.stringify(inner)}).then((seen) => parent.postMessage(` +
    `{ id: ${JSON.stringify(id)}, seen }, "*"));<\/script>`;
  return new Promise((resolve) => {
    const onMessage = (event) => {
      if (!event.data || event.data.id !== id) return;
      window.removeEventListener("message", onMessage);
      frame.remove();
      resolve(event.data.seen);
    };
    window.addEventListener("message", onMessage);
    document.body.appendChild(frame);
  });
}
