/**
 * Values of INI inventories, read the way Ansible reads them: Python's `ast.literal_eval`,
 * falling back to the raw text when the value is not a Python literal.
 *
 * So `22` is a number, `True` a boolean, `None` null, `"a b"` and `'x'` strings,
 * `[1, 2]` a list, `{'a': 1}` a mapping, and `ubuntu` (not a literal) stays the string
 * `ubuntu`. A trailing `# comment` is part of Python's syntax, so `22 # port` is 22 while
 * `abc # note` stays `abc # note`, exactly as in Ansible.
 */

class NotALiteral extends Error {}

type Token =
  | { kind: 'number'; value: number | string }
  | { kind: 'string'; value: string; bytes: boolean }
  | { kind: 'name'; value: string }
  | { kind: 'punct'; value: string }
  | { kind: 'end' };

const digits = (set: string) => `[${set}](?:_?[${set}])*`;
const dec = digits('0-9');
const exponent = `[eE][+-]?${dec}`;
const NUMBER = new RegExp(
  '^(?:' +
    [
      `(?<hex>0[xX](?:_?[0-9a-fA-F])+)`,
      `(?<oct>0[oO](?:_?[0-7])+)`,
      `(?<bin>0[bB](?:_?[01])+)`,
      `(?<float>${dec}\\.(?:${dec})?(?:${exponent})?|\\.${dec}(?:${exponent})?|${dec}${exponent})`,
      `(?<int>[1-9](?:_?[0-9])*|0+(?:_?0)*)`,
    ].join('|') +
    ')',
);
const NAME = /^[A-Za-z_][A-Za-z0-9_]*/;
const STRING_START = /^([rRuUbB]|[bB][rR]|[rR][bB])?('''|"""|'|")/;

function numberValue(groups: Record<string, string | undefined>): number | string {
  const clean = (text: string) => text.replace(/_/g, '');
  if (groups.float !== undefined) return Number(clean(groups.float));
  let big: bigint;
  if (groups.hex !== undefined) big = BigInt(clean(groups.hex));
  else if (groups.oct !== undefined) big = BigInt(clean(groups.oct).replace(/^0[oO]/, '0o'));
  else if (groups.bin !== undefined) big = BigInt(clean(groups.bin));
  else big = BigInt(clean(groups.int!));
  // Beyond 2^53 a JS number would silently change the value; keep the digits instead.
  return big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big.toString();
}

const SIMPLE_ESCAPES: Record<string, string> = {
  '\\': '\\',
  "'": "'",
  '"': '"',
  a: '\x07',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
  '\n': '',
};

/** The body of a non-raw Python string literal with its escapes resolved. */
function unescapeBody(body: string, bytes: boolean): string {
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const ch = body[i]!;
    if (ch !== '\\') {
      out += ch;
      continue;
    }
    const next = body[i + 1];
    if (next === undefined) throw new NotALiteral();
    if (next in SIMPLE_ESCAPES) {
      out += SIMPLE_ESCAPES[next];
      i += 1;
      continue;
    }
    const octal = /^[0-7]{1,3}/.exec(body.slice(i + 1));
    if (octal) {
      out += String.fromCodePoint(parseInt(octal[0], 8));
      i += octal[0].length;
      continue;
    }
    const width = next === 'x' ? 2 : !bytes && next === 'u' ? 4 : !bytes && next === 'U' ? 8 : 0;
    if (width) {
      const hex = body.slice(i + 2, i + 2 + width);
      if (!new RegExp(`^[0-9a-fA-F]{${width}}$`).test(hex)) throw new NotALiteral();
      out += String.fromCodePoint(parseInt(hex, 16));
      i += 1 + width;
      continue;
    }
    if (next === 'N' && !bytes) throw new NotALiteral(); // named escapes: not worth a Unicode table
    out += ch + next; // Python keeps unknown escapes as written
    i += 1;
  }
  return out;
}

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const rest = text.slice(i);
    const ch = text[i]!;
    if (ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r' || ch === '\f') {
      i += 1;
      continue;
    }
    if (ch === '#') {
      const newline = text.indexOf('\n', i);
      i = newline === -1 ? text.length : newline;
      continue;
    }
    if (rest.startsWith('...')) {
      tokens.push({ kind: 'name', value: '...' });
      i += 3;
      continue;
    }
    const quoteStart = STRING_START.exec(rest);
    if (quoteStart) {
      const prefix = (quoteStart[1] ?? '').toLowerCase();
      const quote = quoteStart[2]!;
      let j = quoteStart[0].length;
      let body = '';
      for (;;) {
        if (j >= rest.length) throw new NotALiteral();
        if (rest.startsWith(quote, j)) break;
        if (rest[j] === '\n' && quote.length === 1) throw new NotALiteral();
        if (rest[j] === '\\') {
          body += rest.slice(j, j + 2);
          j += 2;
          continue;
        }
        body += rest[j];
        j += 1;
      }
      const bytes = prefix.includes('b');
      tokens.push({ kind: 'string', value: prefix.includes('r') ? body : unescapeBody(body, bytes), bytes });
      i += j + quote.length;
      continue;
    }
    const number = NUMBER.exec(rest);
    if (number && number[0].length > 0) {
      const after = rest[number[0].length];
      // `1abc`, `1j` (complex), `010` (leading zeros): not literals Ansible would type.
      if (after !== undefined && /[A-Za-z0-9_.]/.test(after)) throw new NotALiteral();
      tokens.push({ kind: 'number', value: numberValue(number.groups!) });
      i += number[0].length;
      continue;
    }
    const name = NAME.exec(rest);
    if (name) {
      tokens.push({ kind: 'name', value: name[0] });
      i += name[0].length;
      continue;
    }
    if ('[](){},:+-'.includes(ch)) {
      tokens.push({ kind: 'punct', value: ch });
      i += 1;
      continue;
    }
    throw new NotALiteral();
  }
  tokens.push({ kind: 'end' });
  return tokens;
}

function parseTokens(tokens: Token[]): unknown {
  let at = 0;
  const peek = () => tokens[at]!;
  const isPunct = (value: string) => {
    const token = peek();
    return token.kind === 'punct' && token.value === value;
  };
  const expect = (value: string) => {
    if (!isPunct(value)) throw new NotALiteral();
    at += 1;
  };

  /** Items separated by commas up to `close`; reports whether a comma was seen. */
  const sequence = (close: string): { items: unknown[]; comma: boolean } => {
    const items: unknown[] = [];
    let comma = false;
    while (!isPunct(close)) {
      items.push(value());
      if (isPunct(',')) {
        comma = true;
        at += 1;
      } else break;
    }
    expect(close);
    return { items, comma };
  };

  const value = (): unknown => {
    const token = peek();
    at += 1;
    switch (token.kind) {
      case 'number':
        return token.value;
      case 'string': {
        let text = token.value;
        // Adjacent literals concatenate ('a' 'b' is 'ab'); bytes and text do not mix.
        while (peek().kind === 'string') {
          const next = peek() as Extract<Token, { kind: 'string' }>;
          if (next.bytes !== token.bytes) throw new NotALiteral();
          text += next.value;
          at += 1;
        }
        return text;
      }
      case 'name':
        if (token.value === 'True') return true;
        if (token.value === 'False') return false;
        if (token.value === 'None') return null;
        if (token.value === '...') return '...';
        throw new NotALiteral();
      case 'punct':
        if (token.value === '+' || token.value === '-') {
          const operand = peek();
          if (operand.kind !== 'number') throw new NotALiteral();
          at += 1;
          if (token.value === '+') return operand.value;
          return typeof operand.value === 'number' ? -operand.value : `-${operand.value}`;
        }
        if (token.value === '[') return sequence(']').items;
        if (token.value === '(') {
          const { items, comma } = sequence(')');
          if (items.length === 1 && !comma) return items[0]; // parentheses, not a tuple
          return items;
        }
        if (token.value === '{') return mapping();
        throw new NotALiteral();
      case 'end':
        throw new NotALiteral();
    }
  };

  /** `{}` is a dict; `{k: v, ...}` a dict; `{a, b}` a set, which Ansible turns into a list. */
  const mapping = (): unknown => {
    if (isPunct('}')) {
      at += 1;
      return {};
    }
    const first = value();
    if (!isPunct(':')) {
      const items = [first];
      while (isPunct(',')) {
        at += 1;
        if (isPunct('}')) break;
        items.push(value());
      }
      expect('}');
      return [...new Set(items)];
    }
    const result: Record<string, unknown> = {};
    let key = first;
    for (;;) {
      expect(':');
      result[String(key)] = value();
      if (!isPunct(',')) break;
      at += 1;
      if (isPunct('}')) break;
      key = value();
    }
    expect('}');
    return result;
  };

  // Top level: `1, 2` is a tuple in Python's eval mode.
  const first = value();
  let result: unknown = first;
  if (isPunct(',')) {
    const items = [first];
    while (isPunct(',')) {
      at += 1;
      if (peek().kind === 'end') break;
      items.push(value());
    }
    result = items;
  }
  if (peek().kind !== 'end') throw new NotALiteral();
  return result;
}

/** `{ value }` when `text` is a Python literal, `undefined` otherwise. */
export function evalPythonLiteral(text: string): { value: unknown } | undefined {
  try {
    // literal_eval strips leading spaces and tabs before parsing.
    return { value: parseTokens(tokenize(text.replace(/^[ \t]+/, ''))) };
  } catch (error) {
    if (error instanceof NotALiteral) return undefined;
    throw error;
  }
}

/** An INI inventory value: the Python literal it spells, or else the text itself. */
export function parseIniValue(text: string): unknown {
  const literal = evalPythonLiteral(text);
  return literal ? literal.value : text;
}
