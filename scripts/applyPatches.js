// Applies patches/*.patch (unified diffs made by patch-package against pinned versions) to
// node_modules, without patch-package itself: a production install (`npm ci --omit=dev`)
// has no dev dependencies. A file already patched is left as it is.
'use strict';
const fs = require('fs');
const path = require('path');

const ROOT = path.join(__dirname, '..');

/** The files of a unified diff, each with its hunks. */
function parse(text) {
  const files = [];
  let file = null;
  let hunk = null;
  for (const line of text.split('\n')) {
    if (line.startsWith('diff --git ')) {
      file = { path: line.split(' b/')[1], hunks: [] };
      files.push(file);
      hunk = null;
    } else if (line.startsWith('@@ ')) {
      const [, oldStart, newStart] = /^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@/.exec(line);
      hunk = { oldStart: Number(oldStart), newStart: Number(newStart), oldLines: [], newLines: [] };
      file.hunks.push(hunk);
    } else if (hunk !== null && (line.startsWith(' ') || line === '')) {
      hunk.oldLines.push(line.slice(1));
      hunk.newLines.push(line.slice(1));
    } else if (hunk !== null && line.startsWith('-') && !line.startsWith('--- ')) {
      hunk.oldLines.push(line.slice(1));
    } else if (hunk !== null && line.startsWith('+') && !line.startsWith('+++ ')) {
      hunk.newLines.push(line.slice(1));
    }
  }
  // A trailing empty line of the diff is not context.
  for (const f of files) for (const h of f.hunks) {
    while (h.oldLines.length > 0 && h.newLines.length > 0 && h.oldLines[h.oldLines.length - 1] === '' && h.newLines[h.newLines.length - 1] === '') {
      h.oldLines.pop();
      h.newLines.pop();
    }
  }
  return files;
}

function matchesAt(lines, at, expected) {
  return expected.every((line, i) => lines[at + i] === line);
}

/** The patched text, null when the file is already patched; throws when it matches neither. */
function applyFile(text, hunks, name) {
  const lines = text.split('\n');
  if (hunks.every((h) => matchesAt(lines, h.newStart - 1, h.newLines))) return null;
  const out = [];
  let at = 0;
  for (const h of hunks) {
    const start = h.oldStart - 1;
    if (!matchesAt(lines, start, h.oldLines)) throw new Error(`${name}: the patch does not apply at line ${h.oldStart}`);
    out.push(...lines.slice(at, start), ...h.newLines);
    at = start + h.oldLines.length;
  }
  out.push(...lines.slice(at));
  return out.join('\n');
}

function applyPatches() {
  const dir = path.join(ROOT, 'patches');
  for (const patch of fs.readdirSync(dir).filter((f) => f.endsWith('.patch')).sort()) {
    for (const file of parse(fs.readFileSync(path.join(dir, patch), 'utf8'))) {
      const target = path.join(ROOT, file.path);
      const patched = applyFile(fs.readFileSync(target, 'utf8'), file.hunks, file.path);
      if (patched !== null) fs.writeFileSync(target, patched);
      process.stdout.write(`${patch}: ${file.path} ${patched === null ? 'already patched' : 'patched'}\n`);
    }
  }
}

module.exports = { parse, applyFile, applyPatches };
if (require.main === module) applyPatches();
