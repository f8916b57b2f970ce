import { createRoot } from "react-dom/client";
import { runProbe } from "./probe.js";
import { clear, record } from "./log.js";
import App from "./App.jsx";

// The harness calls window.corsProbe(spec) through the engine driver.
window.corsProbe = async (spec) => {
  const result = await runProbe(spec);
  record(spec, result);
  return result;
};

// A page is reused for many cells; each cell starts with an empty probe list.
window.corsProbeClear = clear;

createRoot(document.getElementById("root")).render(<App />);
window.corsProbeReady = true;
