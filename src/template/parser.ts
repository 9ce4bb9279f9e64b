/**
 * The expression language of conditions and `{{ }}`: Jinja's grammar, parsed by hand.
 *
 * A small recursive-descent parser rather than jsep: Jinja needs `x if c else y`,
 * `is not defined`, `not in`, `|` filters that bind tighter than comparisons, keyword
 * arguments and Python literals, which jsep would only give through a pile of plugins.
 * Nothing here is evaluated as JavaScript.
 */
import { TemplateSyntaxError } from './errors.js';
import { suggestion } from '../input-error.js';
import { FILTER_NAMES } from './filters.js';
import { TEST_NAMES } from './jinja-tests.js';

interface Span {
  /** Offsets into the expression text: `text.slice(start, end)` is the node as written. */
  start: number;
  end: number;
}

export type Node = Span &
  (
    | { type: 'literal'; value: unknown }
    | { type: 'name'; name: string }
    | { type: 'member'; object: Node; property: string | number }
    | { type: 'index'; object: Node; index: Node }
    | { type: 'slice'; object: Node; lower?: Node; upper?: Node; step?: Node }
    | { type: 'list'; items: Node[] }
    | { type: 'dict'; entries: Array<[Node, Node]> }
    | { type: 'unary'; op: 'not' | '-' | '+'; arg: Node }
    | { type: 'binary'; op: string; left: Node; right: Node }
    | { type: 'compare'; first: Node; rest: Array<{ op: string; node: Node }> }
    | { type: 'logical'; op: 'and' | 'or'; left: Node; right: Node }
    | { type: 'conditional'; test: Node; then: Node; otherwise?: Node }
    | { type: 'filter'; name: string; arg: Node; args: Node[]; kwargs: Record<string, Node> }
    | { type: 'test'; name: string; arg: Node; negated: boolean; args: Node[]; kwargs: Record<string, Node> }
    | { type: 'call'; callee: Node; args: Node[]; kwargs: Record<string, Node> }
  );

type TokenKind = 'name' | 'number' | 'string' | 'op' | 'end';
interface Token extends Span {
  kind: TokenKind;
  value: string;
  /** Parsed value of number and string tokens. */
  literal?: unknown;
}

const OPERATORS = ['**', '//', '==', '!=', '<=', '>=', '+', '-', '*', '/', '%', '~', '|', '<', '>', '(', ')', '[', ']', '{', '}', ',', '.', ':', '='];
const KEYWORDS = new Set(['and', 'or', 'not', 'in', 'is', 'if', 'else']);
const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', '0': '\0', '\\': '\\', "'": "'", '"': '"' };

/** A syntax error: the expression, a caret under the column, what was expected. */
export function syntaxError(text: string, offset: number, message: string, hint?: string): TemplateSyntaxError {
  const error = new TemplateSyntaxError(
    `syntax error in expression at column ${offset + 1}: ${message}\n    ${text}\n    ${' '.repeat(offset)}^`,
    undefined,
    hint,
  );
  (error as { column?: number }).column = offset + 1;
  return error;
}

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    const start = i;
    if (/[A-Za-z_@]/.test(ch)) {
      i++;
      while (i < text.length && /[A-Za-z0-9_]/.test(text[i]!)) i++;
      tokens.push({ kind: 'name', value: text.slice(start, i), start, end: i });
      continue;
    }
    if (/[0-9]/.test(ch)) {
      while (i < text.length && /[0-9_]/.test(text[i]!)) i++;
      // A fraction only when a digit follows the dot: `a.0.1` stays paths.
      if (text[i] === '.' && /[0-9]/.test(text[i + 1] ?? '') && tokens.at(-1)?.value !== '.') {
        i++;
        while (i < text.length && /[0-9_]/.test(text[i]!)) i++;
      }
      if (/[eE]/.test(text[i] ?? '') && /[-+0-9]/.test(text[i + 1] ?? '')) {
        i += 2;
        while (i < text.length && /[0-9]/.test(text[i]!)) i++;
      }
      const raw = text.slice(start, i).replace(/_/g, '');
      tokens.push({ kind: 'number', value: raw, literal: Number(raw), start, end: i });
      continue;
    }
    if (ch === "'" || ch === '"') {
      let value = '';
      i++;
      while (i < text.length && text[i] !== ch) {
        if (text[i] === '\\' && i + 1 < text.length) {
          const next = text[i + 1]!;
          if (next === 'u' && /^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) {
            value += String.fromCharCode(parseInt(text.slice(i + 2, i + 6), 16));
            i += 6;
            continue;
          }
          // Unknown escapes keep their backslash, as in Python (regexes rely on it).
          value += ESCAPES[next] ?? `\\${next}`;
          i += 2;
          continue;
        }
        value += text[i];
        i++;
      }
      if (i >= text.length) throw syntaxError(text, start, 'unterminated string', `close it with ${ch}`);
      i++;
      tokens.push({ kind: 'string', value: text.slice(start, i), literal: value, start, end: i });
      continue;
    }
    const op = OPERATORS.find((candidate) => text.startsWith(candidate, i));
    if (!op) throw syntaxError(text, i, `unexpected character '${ch}'`);
    i += op.length;
    tokens.push({ kind: 'op', value: op, start, end: i });
  }
  tokens.push({ kind: 'end', value: '', start: text.length, end: text.length });
  return tokens;
}

/**
 * Brackets, prefix operators and `else` chains nested in one expression. Parsing and
 * evaluating recurse once per level; real expressions use a handful.
 */
export const EXPRESSION_DEPTH_LIMIT = 100;

function describe(token: Token): string {
  return token.kind === 'end' ? 'end of expression' : `'${token.value}'`;
}

class Parser {
  private readonly tokens: Token[];
  private at = 0;
  private depth = 0;

  constructor(private readonly text: string) {
    this.tokens = tokenize(text);
  }

  parseAll(): Node {
    if (this.peek().kind === 'end') throw syntaxError(this.text, 0, 'expected an expression, found nothing');
    const node = this.parseExpression();
    const rest = this.peek();
    if (rest.kind !== 'end') {
      const hint = rest.value === '=' ? "use '==' to compare" : undefined;
      throw syntaxError(this.text, rest.start, `expected an operator or end of expression, found ${describe(rest)}`, hint);
    }
    return node;
  }

  private peek(ahead = 0): Token {
    return this.tokens[Math.min(this.at + ahead, this.tokens.length - 1)]!;
  }

  private next(): Token {
    const token = this.peek();
    if (token.kind !== 'end') this.at++;
    return token;
  }

  private isOp(value: string, ahead = 0): boolean {
    const token = this.peek(ahead);
    return token.kind === 'op' && token.value === value;
  }

  private isKeyword(value: string, ahead = 0): boolean {
    const token = this.peek(ahead);
    return token.kind === 'name' && token.value === value;
  }

  private expectOp(value: string, what: string): Token {
    const token = this.peek();
    if (token.kind !== 'op' || token.value !== value) {
      throw syntaxError(this.text, token.start, `expected '${value}' ${what}, found ${describe(token)}`);
    }
    return this.next();
  }

  /** Run a parse step one level deeper, refusing inputs nested past the limit. */
  private nested<T>(parse: () => T): T {
    if (++this.depth > EXPRESSION_DEPTH_LIMIT) {
      throw syntaxError(this.text, this.peek().start, `expression nested more than ${EXPRESSION_DEPTH_LIMIT} levels deep`, 'split it up with set_fact or vars');
    }
    try {
      return parse();
    } finally {
      this.depth--;
    }
  }

  parseExpression(): Node {
    return this.nested(() => this.parseConditional());
  }

  private parseConditional(): Node {
    const node = this.parseOr();
    if (!this.isKeyword('if')) return node;
    this.next();
    const test = this.parseOr();
    if (!this.isKeyword('else')) return { type: 'conditional', test, then: node, start: node.start, end: test.end };
    this.next();
    const otherwise = this.parseExpression();
    return { type: 'conditional', test, then: node, otherwise, start: node.start, end: otherwise.end };
  }

  private parseOr(): Node {
    let left = this.parseAnd();
    while (this.isKeyword('or')) {
      this.next();
      const right = this.parseAnd();
      left = { type: 'logical', op: 'or', left, right, start: left.start, end: right.end };
    }
    return left;
  }

  private parseAnd(): Node {
    let left = this.parseNot();
    while (this.isKeyword('and')) {
      this.next();
      const right = this.parseNot();
      left = { type: 'logical', op: 'and', left, right, start: left.start, end: right.end };
    }
    return left;
  }

  private parseNot(): Node {
    if (this.isKeyword('not')) {
      const start = this.next().start;
      const arg = this.nested(() => this.parseNot());
      return { type: 'unary', op: 'not', arg, start, end: arg.end };
    }
    return this.parseCompare();
  }

  private parseCompare(): Node {
    const first = this.parseConcat();
    const rest: Array<{ op: string; node: Node }> = [];
    for (;;) {
      const token = this.peek();
      let op: string;
      if (token.kind === 'op' && ['==', '!=', '<', '>', '<=', '>='].includes(token.value)) {
        op = token.value;
        this.next();
      } else if (this.isKeyword('in')) {
        op = 'in';
        this.next();
      } else if (this.isKeyword('not') && this.isKeyword('in', 1)) {
        op = 'not in';
        this.next();
        this.next();
      } else {
        break;
      }
      rest.push({ op, node: this.parseConcat() });
    }
    if (rest.length === 0) return first;
    return { type: 'compare', first, rest, start: first.start, end: rest.at(-1)!.node.end };
  }

  private parseBinary(operators: string[], operand: () => Node): Node {
    let left = operand();
    for (;;) {
      const token = this.peek();
      if (token.kind !== 'op' || !operators.includes(token.value)) return left;
      this.next();
      const right = operand();
      left = { type: 'binary', op: token.value, left, right, start: left.start, end: right.end };
    }
  }

  private parseConcat(): Node {
    return this.parseBinary(['~'], () => this.parseMath1());
  }

  private parseMath1(): Node {
    return this.parseBinary(['+', '-'], () => this.parseMath2());
  }

  private parseMath2(): Node {
    return this.parseBinary(['*', '/', '//', '%'], () => this.parsePow());
  }

  private parsePow(): Node {
    return this.parseBinary(['**'], () => this.parseUnary(true));
  }

  private parseUnary(withFilters: boolean): Node {
    const token = this.peek();
    let node: Node;
    if (token.kind === 'op' && (token.value === '-' || token.value === '+')) {
      this.next();
      const arg = this.nested(() => this.parseUnary(false));
      node = { type: 'unary', op: token.value, arg, start: token.start, end: arg.end };
    } else {
      node = this.parsePostfix(this.parsePrimary());
    }
    return withFilters ? this.parseFiltersAndTests(node) : node;
  }

  private parsePrimary(): Node {
    const token = this.next();
    const { start, end } = token;
    if (token.kind === 'number' || token.kind === 'string') {
      let node: Node = { type: 'literal', value: token.literal, start, end };
      // Adjacent string literals concatenate, as in Python.
      while (token.kind === 'string' && this.peek().kind === 'string') {
        const more = this.next();
        node = { type: 'literal', value: `${node.value as string}${more.literal as string}`, start, end: more.end };
      }
      return node;
    }
    if (token.kind === 'name') {
      switch (token.value) {
        case 'true':
        case 'True':
          return { type: 'literal', value: true, start, end };
        case 'false':
        case 'False':
          return { type: 'literal', value: false, start, end };
        case 'none':
        case 'None':
          return { type: 'literal', value: null, start, end };
      }
      if (KEYWORDS.has(token.value)) {
        throw syntaxError(this.text, start, `expected a value, found keyword '${token.value}'`);
      }
      return { type: 'name', name: token.value, start, end };
    }
    if (token.kind === 'op') {
      if (token.value === '(') {
        if (this.isOp(')')) return { type: 'list', items: [], start, end: this.next().end };
        const inner = this.parseExpression();
        if (this.isOp(',')) {
          const items = [inner, ...this.parseSequence(')', true)];
          return { type: 'list', items, start, end: this.expectOp(')', 'to close the tuple').end };
        }
        const close = this.expectOp(')', 'to close the parenthesis');
        return { ...inner, start, end: close.end };
      }
      if (token.value === '[') {
        const items = this.parseSequence(']', false);
        return { type: 'list', items, start, end: this.expectOp(']', 'to close the list').end };
      }
      if (token.value === '{') {
        const entries: Array<[Node, Node]> = [];
        while (!this.isOp('}')) {
          const key = this.parseExpression();
          this.expectOp(':', 'between a key and its value');
          entries.push([key, this.parseExpression()]);
          if (!this.isOp(',')) break;
          this.next();
        }
        return { type: 'dict', entries, start, end: this.expectOp('}', 'to close the dict').end };
      }
    }
    throw syntaxError(this.text, start, `expected a value, found ${describe(token)}`);
  }

  /** Items up to `close` (not consumed); `afterComma` when the first comma was already seen. */
  private parseSequence(close: string, afterComma: boolean): Node[] {
    const items: Node[] = [];
    if (afterComma) this.next();
    while (!this.isOp(close)) {
      items.push(this.parseExpression());
      if (!this.isOp(',')) break;
      this.next();
    }
    return items;
  }

  private parsePostfix(node: Node): Node {
    for (;;) {
      if (this.isOp('.')) {
        this.next();
        const token = this.next();
        if (token.kind === 'name') {
          node = { type: 'member', object: node, property: token.value, start: node.start, end: token.end };
        } else if (token.kind === 'number' && Number.isInteger(token.literal)) {
          node = { type: 'member', object: node, property: token.literal as number, start: node.start, end: token.end };
        } else {
          throw syntaxError(this.text, token.start, `expected an attribute name after '.', found ${describe(token)}`);
        }
      } else if (this.isOp('[')) {
        this.next();
        node = this.parseSubscript(node);
      } else if (this.isOp('(')) {
        this.next();
        const { args, kwargs, end } = this.parseArguments();
        node = { type: 'call', callee: node, args, kwargs, start: node.start, end };
      } else {
        return node;
      }
    }
  }

  private parseSubscript(object: Node): Node {
    const parts: Array<Node | undefined> = [];
    let sliced = false;
    for (;;) {
      if (this.isOp(':')) {
        sliced = true;
        parts.push(undefined);
        this.next();
        continue;
      }
      if (this.isOp(']')) break;
      const part = this.parseExpression();
      if (this.isOp(':')) {
        sliced = true;
        this.next();
        parts.push(part);
        continue;
      }
      parts.push(part);
      break;
    }
    const end = this.expectOp(']', 'to close the subscript').end;
    if (!sliced) {
      if (!parts[0]) throw syntaxError(this.text, end - 1, 'expected an index or key inside [ ]');
      return { type: 'index', object, index: parts[0], start: object.start, end };
    }
    const [lower, upper, step] = parts;
    return { type: 'slice', object, lower, upper, step, start: object.start, end };
  }

  /** After `(`: positional and `name=value` arguments, then `)`. */
  private parseArguments(): { args: Node[]; kwargs: Record<string, Node>; end: number } {
    const args: Node[] = [];
    const kwargs: Record<string, Node> = {};
    while (!this.isOp(')')) {
      if (this.peek().kind === 'name' && this.isOp('=', 1)) {
        const name = this.next().value;
        this.next();
        kwargs[name] = this.parseExpression();
      } else {
        if (Object.keys(kwargs).length > 0) {
          throw syntaxError(this.text, this.peek().start, 'expected a keyword argument (name=value) after keyword arguments');
        }
        args.push(this.parseExpression());
      }
      if (!this.isOp(',')) break;
      this.next();
    }
    const end = this.expectOp(')', 'to close the argument list').end;
    return { args, kwargs, end };
  }

  /** A filter or test name; `ansible.builtin.x` and friends mean `x`. */
  private parseQualifiedName(kind: 'filter' | 'test', known: ReadonlySet<string>): { name: string; start: number } {
    const token = this.next();
    if (token.kind !== 'name') throw syntaxError(this.text, token.start, `expected a ${kind} name, found ${describe(token)}`);
    let name = token.value;
    while (this.isOp('.') && this.peek(1).kind === 'name') {
      this.next();
      name = this.next().value;
    }
    if (!known.has(name)) {
      throw syntaxError(this.text, token.start, `unknown ${kind} '${name}'`, suggestion(name, known));
    }
    return { name, start: token.start };
  }

  private parseFiltersAndTests(node: Node): Node {
    for (;;) {
      if (this.isOp('|')) {
        this.next();
        const { name } = this.parseQualifiedName('filter', FILTER_NAMES);
        let args: Node[] = [];
        let kwargs: Record<string, Node> = {};
        let end = this.peek(-1).end;
        if (this.isOp('(')) {
          this.next();
          ({ args, kwargs, end } = this.parseArguments());
        }
        node = { type: 'filter', name, arg: node, args, kwargs, start: node.start, end };
      } else if (this.isKeyword('is')) {
        this.next();
        const negated = this.isKeyword('not');
        if (negated) this.next();
        const { name } = this.parseQualifiedName('test', TEST_NAMES);
        let args: Node[] = [];
        let kwargs: Record<string, Node> = {};
        let end = this.peek(-1).end;
        if (this.isOp('(')) {
          this.next();
          ({ args, kwargs, end } = this.parseArguments());
        } else if (this.startsBareTestArgument()) {
          const arg = this.parsePostfix(this.parsePrimary());
          args = [arg];
          end = arg.end;
        }
        node = { type: 'test', name, arg: node, negated, args, kwargs, start: node.start, end };
      } else {
        return node;
      }
    }
  }

  /** Jinja allows one argument without parentheses: `x is divisibleby 3`, `x is sameas true`. */
  private startsBareTestArgument(): boolean {
    const token = this.peek();
    if (token.kind === 'number' || token.kind === 'string') return true;
    if (token.kind === 'name') return !KEYWORDS.has(token.value);
    return token.kind === 'op' && (token.value === '[' || token.value === '{');
  }
}

const cache = new Map<string, Node>();

/** Parse an expression (cached by text). Errors carry the column and a caret line. */
export function parseExpression(text: string): Node {
  let node = cache.get(text);
  if (!node) {
    node = new Parser(text).parseAll();
    cache.set(text, node);
  }
  return node;
}
