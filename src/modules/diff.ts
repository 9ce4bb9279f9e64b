/** Unified diff text (as `diff -u` prints it) for `--diff` output of file changes. */

type Edit = { op: ' ' | '-' | '+'; line: string };

/** Split text into lines; a last line without a newline is marked as `diff` does. */
function splitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  else lines[lines.length - 1] += '\n\\ No newline at end of file';
  return lines;
}

/** Myers' O(ND) shortest edit script between two line arrays. */
function editScript(a: string[], b: string[]): Edit[] {
  const max = a.length + b.length;
  const offset = max + 1;
  const v = new Int32Array(2 * max + 3);
  const trace: Int32Array[] = [];
  let found = false;
  for (let d = 0; d <= max && !found; d++) {
    trace.push(v.slice());
    for (let k = -d; k <= d; k += 2) {
      let x = k === -d || (k !== d && v[offset + k - 1]! < v[offset + k + 1]!) ? v[offset + k + 1]! : v[offset + k - 1]! + 1;
      let y = x - k;
      while (x < a.length && y < b.length && a[x] === b[y]) {
        x++;
        y++;
      }
      v[offset + k] = x;
      if (x >= a.length && y >= b.length) {
        found = true;
        break;
      }
    }
  }
  // Walk the trace backwards to recover the edits.
  const edits: Edit[] = [];
  let x = a.length;
  let y = b.length;
  for (let d = trace.length - 1; d >= 0; d--) {
    const vd = trace[d]!;
    const k = x - y;
    const prevK = k === -d || (k !== d && vd[offset + k - 1]! < vd[offset + k + 1]!) ? k + 1 : k - 1;
    const prevX = d === 0 ? 0 : vd[offset + prevK]!;
    const prevY = prevX - prevK;
    while (x > prevX && y > prevY) {
      edits.push({ op: ' ', line: a[--x]! });
      y--;
    }
    if (d > 0) {
      if (x === prevX) edits.push({ op: '+', line: b[--y]! });
      else edits.push({ op: '-', line: a[--x]! });
    }
  }
  while (x > 0 && y > 0) {
    edits.push({ op: ' ', line: a[--x]! });
    y--;
  }
  return edits.reverse();
}

function range(start: number, count: number): string {
  // diff -u: an empty range is shown at the line before it.
  if (count === 0) return `${start},0`;
  return count === 1 ? `${start + 1}` : `${start + 1},${count}`;
}

export interface UnifiedDiffOptions {
  fromLabel?: string;
  toLabel?: string;
  /** Unchanged lines shown around each change. */
  context?: number;
}

/** The unified diff from `before` to `after`; empty when they are equal. */
export function unifiedDiff(before: string, after: string, options: UnifiedDiffOptions = {}): string {
  if (before === after) return '';
  const context = options.context ?? 3;
  const edits = editScript(splitLines(before), splitLines(after));
  const out = [`--- ${options.fromLabel ?? 'before'}`, `+++ ${options.toLabel ?? 'after'}`];
  let i = 0;
  let aLine = 0;
  let bLine = 0;
  while (i < edits.length) {
    // Find the next change, then grow the hunk while changes are within 2*context of each other.
    let first = i;
    while (first < edits.length && edits[first]!.op === ' ') first++;
    if (first === edits.length) break;
    const start = Math.max(i, first - context);
    aLine += start - i;
    bLine += start - i;
    let end = first;
    let lastChange = first;
    while (end < edits.length) {
      if (edits[end]!.op !== ' ') lastChange = end;
      else if (end - lastChange > 2 * context) break;
      end++;
    }
    end = Math.min(edits.length, lastChange + context + 1);
    const hunk = edits.slice(start, end);
    const aCount = hunk.filter((e) => e.op !== '+').length;
    const bCount = hunk.filter((e) => e.op !== '-').length;
    out.push(`@@ -${range(aLine, aCount)} +${range(bLine, bCount)} @@`);
    for (const edit of hunk) out.push(`${edit.op}${edit.line}`);
    aLine += aCount;
    bLine += bCount;
    i = end;
  }
  return `${out.join('\n')}\n`;
}
