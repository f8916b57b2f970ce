import { createRoot } from "react-dom/client";
import { runProbe } from "./probe.js";
import { runInSandbox } from "./sandbox.js";
import { runXhr } from "./xhr.js";
import { clear, record } from "./log.js";
import App from "./App.jsx";

// The harness calls window.corsProbe(spec) through the engine driver.
window.corsProbe = async (spec) => {
  // page = "sandboxed": the fetch runs in an opaque-origin iframe (Origin: null);
  // api = "xhr": sent with XMLHttpRequest instead of fetch
  let run = spec.api === "xhr" ? runXhr : runProbe;
  if (spec.initiator === "sandboxed-iframe") run = runInSandbox;
  const result = await run(spec);
  record(spec, result);
  return result;
};

// A page is reused for many cells; each cell starts with an empty probe list.
window.corsProbeClear = clear;

createRoot(document.getElementById("root")).render(<App />);
window.corsProbeReady = true;
