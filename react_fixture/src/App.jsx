import { useEffect, useState } from "react";
import { subscribe } from "./log.js";

const COLOURS = { ok: "#1a7f37", "http-error": "#9a6700", opaque: "#6e7781" };

function ProbeRow({ entry, index }) {
  const { spec, result } = entry;
  const colour = COLOURS[result.outcome] || "#cf222e";
  return (
    <tr data-outcome={result.outcome}>
      <td>{index + 1}</td>
      <td>
        <code>
          {spec.method || "GET"} {spec.url}
        </code>
        <div>
          credentials: {spec.credentials || "same-origin"}, mode: {spec.mode || "cors"}
          {spec.cache && spec.cache !== "default" ? `, cache: ${spec.cache}` : ""}
          {spec.headers && Object.keys(spec.headers).length > 0
            ? `, headers: ${Object.keys(spec.headers).join(", ")}`
            : ""}
        </div>
      </td>
      <td style={{ color: colour, fontWeight: "bold" }}>{result.outcome}</td>
      <td>{result.status}</td>
      <td>
        {result.errorName ? `${result.errorName}: ${result.errorMessage}` : ""}
        {Object.entries(result.headers).map(([name, value]) => (
          <div key={name}>
            {name}: {value === null ? "(not readable)" : value}
          </div>
        ))}
      </td>
    </tr>
  );
}

export default function App() {
  const [entries, setEntries] = useState([]);
  useEffect(() => subscribe(setEntries), []);
  return (
    <main style={{ fontFamily: "sans-serif", margin: "1em" }}>
      <h1>cors-matrix probe page</h1>
      <p>
        Page origin: <code>{window.location.origin}</code>. Each row is one fetch the
        harness asked this page to make, and what the page could see of its answer.
      </p>
      <table border="1" cellPadding="4" style={{ borderCollapse: "collapse" }}>
        <thead>
          <tr>
            <th>#</th>
            <th>request</th>
            <th>outcome</th>
            <th>status</th>
            <th>error / readable headers</th>
          </tr>
        </thead>
        <tbody>
          {entries.length === 0 ? (
            <tr>
              <td colSpan="5">no probe yet</td>
            </tr>
          ) : (
            entries.map((entry, i) => <ProbeRow key={i} entry={entry} index={i} />)
          )}
        </tbody>
      </table>
    </main>
  );
}
