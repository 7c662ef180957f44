// Lays out Graphviz DOT sources into SVG with Graphviz compiled to WebAssembly (@viz-js/viz):
// reads {"name": "<dot source>", ...} as JSON on standard input, writes {"name": "<svg>", ...}.
// Used by tests/diagrams.py; no `dot` binary is needed.
import { instance } from "@viz-js/viz";

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const sources = JSON.parse(Buffer.concat(chunks).toString("utf8"));

const viz = await instance();
const rendered = {};
for (const [name, dot] of Object.entries(sources)) {
  const result = viz.render(dot, { format: "svg" });
  if (result.status !== "success") {
    const messages = result.errors.map((e) => `${e.level}: ${e.message}`).join("\n");
    process.stderr.write(`${name}: Graphviz failed\n${messages}\n`);
    process.exit(1);
  }
  const warnings = result.errors.filter((e) => e.level === "warning");
  if (warnings.length) {
    process.stderr.write(`${name}: Graphviz warned\n${warnings.map((e) => e.message).join("\n")}\n`);
    process.exit(1);
  }
  rendered[name] = result.output;
}
process.stdout.write(JSON.stringify(rendered));
