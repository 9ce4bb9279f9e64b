/**
 * Source positions and the errors that carry them.
 *
 * Every user-facing input error names file:line:col, the key, what was expected and,
 * where one fits, a suggestion. Loaders attach positions to the plain objects they build
 * (see `yaml.ts`), so later stages can point back at the source without keeping YAML nodes.
 */

export interface SourcePos {
  file: string;
  line: number;
  col: number;
}

export function formatPos(pos: SourcePos | undefined): string {
  if (!pos) return '';
  return `${pos.file}:${pos.line}:${pos.col}`;
}

/** An error in user input (inventory, playbook, role, template, variables). */
export class InputError extends Error {
  constructor(
    message: string,
    readonly pos?: SourcePos,
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'InputError';
  }

  /** "file:line:col: message" plus the hint on its own line. */
  describe(): string {
    const where = this.pos ? `${formatPos(this.pos)}: ` : '';
    return `${where}${this.message}${this.hint ? `\n  hint: ${this.hint}` : ''}`;
  }
}

/** Levenshtein distance, small inputs only (key names). */
function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = current;
    }
  }
  return row[b.length]!;
}

/** The closest known name to `name`, if it is close enough to be a likely typo. */
export function didYouMean(name: string, known: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const distance = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  const limit = Math.max(1, Math.floor(name.length / 3));
  return best !== undefined && bestDistance <= limit ? best : undefined;
}

export function suggestion(name: string, known: Iterable<string>): string | undefined {
  const match = didYouMean(name, known);
  return match ? `did you mean '${match}'?` : undefined;
}
