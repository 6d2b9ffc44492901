// Parse an AsyncAPI document with the official parser and print its diagnostics as JSON.
// Exit 1 when any diagnostic is an error (severity 0) or the document did not parse.
// Relative $refs resolve against the file's folder, or against the URL it was served at.
//   node validate.mjs path/to/asyncapi.json | http://host/asyncapi.json
import { readFile } from "node:fs/promises";
import { Parser } from "@asyncapi/parser";

const path = process.argv[2];
if (!path) {
  console.error("usage: node validate.mjs ASYNCAPI_FILE");
  process.exit(2);
}
const remote = /^https?:\/\//.test(path);
const text = remote ? await (await fetch(path)).text() : await readFile(path, "utf8");
const { document, diagnostics } = await new Parser().parse(text, { source: path });
const out = diagnostics.map((d) => ({
  severity: d.severity,
  code: d.code,
  message: d.message,
  path: d.path.join("/"),
}));
const errors = out.filter((d) => d.severity === 0);
const summary = document
  ? {
      channels: document.channels().length,
      operations: document.operations().length,
      messages: document.components().messages().length,
      replies: document.operations().filter((op) => op.reply() !== undefined).length,
    }
  : null;
console.log(JSON.stringify({ ok: errors.length === 0 && document !== undefined, summary, diagnostics: out }));
process.exit(errors.length === 0 && document !== undefined ? 0 : 1);
