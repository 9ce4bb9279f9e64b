/**
 * Evaluation of parsed expressions against variables.
 *
 * Lookups that find nothing yield an `Undefined` value rather than failing, so that
 * `default`, `is defined` and the unevaluated side of `and`/`or`/`if` can absorb them;
 * every other use turns it into an `UndefinedVariableError` naming the path and the
 * position of the template or expression.
 */
import { suggestion, type SourcePos } from '../input-error.js';
import { TemplateEvaluationError, TemplateSyntaxError, UndefinedVariableError } from './errors.js';
import { FILTERS, UNDEFINED_AWARE_FILTERS } from './filters.js';
import { parseExpression, type Node } from './parser.js';
import { contains, EvaluationProblem, TESTS, UNDEFINED_AWARE_TESTS } from './jinja-tests.js';
import { deepEqual, isMapping, isUndefined, setKey, toText, truthy, typeName, Undefined, type Vars } from './values.js';

/** Where an expression is evaluated: variables in layers, innermost first. */
export interface Scope {
  layers: Vars[];
  origin?: SourcePos;
  /** True when `origin` is where the expression text itself starts (templates): syntax errors then point at the column. */
  originIsExpression?: boolean;
}

interface Context extends Scope {
  text: string;
}

function positionAt(scope: Scope, column?: number): SourcePos | undefined {
  if (!scope.origin) return undefined;
  if (!scope.originIsExpression || column === undefined) return scope.origin;
  return { ...scope.origin, col: scope.origin.col + column - 1 };
}

export function undefinedError(value: Undefined, scope: Scope): UndefinedVariableError {
  const message = value.message ?? `'${value.name}' is undefined${value.reason ? `: ${value.reason}` : ''}`;
  return new UndefinedVariableError(value.name, message, positionAt(scope), value.hint);
}

function force(value: unknown, ctx: Context): unknown {
  if (isUndefined(value)) throw undefinedError(value, ctx);
  return value;
}

function problem(message: string, ctx: Context): TemplateEvaluationError {
  return new TemplateEvaluationError(`${message} (in '${ctx.text}')`, positionAt(ctx));
}

function sourceOf(node: Node, ctx: Context): string {
  return ctx.text.slice(node.start, node.end);
}

function knownNames(layers: Vars[]): Set<string> {
  const names = new Set<string>();
  for (const layer of layers) for (const key of Object.keys(layer)) names.add(key);
  return names;
}

function lookupName(name: string, ctx: Context): unknown {
  for (const layer of ctx.layers) {
    if (Object.hasOwn(layer, name)) return layer[name];
  }
  return new Undefined(name, undefined, () => suggestion(name, knownNames(ctx.layers)));
}

function memberOf(object: unknown, key: string | number, node: Node, objectNode: Node, ctx: Context): unknown {
  if (isUndefined(object)) return object;
  const describeMissing = (what: string, known: Iterable<string> = []) =>
    new Undefined(sourceOf(node, ctx), `'${sourceOf(objectNode, ctx)}' ${what}`, () => suggestion(String(key), known));
  if (isMapping(object)) {
    const name = String(key);
    if (Object.hasOwn(object, name)) return object[name];
    return describeMissing(`has no attribute '${name}'`, Object.keys(object));
  }
  if (Array.isArray(object) || typeof object === 'string') {
    if (typeof key === 'number' || /^-?\d+$/.test(key)) {
      let index = Number(key);
      if (index < 0) index += object.length;
      if (index >= 0 && index < object.length) return object[index];
      return describeMissing(`has no item ${String(key)} (it has ${object.length})`);
    }
    return describeMissing(`is a ${typeName(object)} and has no attribute '${key}'`);
  }
  return describeMissing(`is ${object === null ? 'None' : `a ${typeName(object)}`} and has no attribute '${String(key)}'`);
}

function sliceOf(object: unknown, lower: unknown, upper: unknown, step: unknown, ctx: Context): unknown {
  if (!Array.isArray(object) && typeof object !== 'string') throw problem(`cannot slice a ${typeName(object)}`, ctx);
  const items = typeof object === 'string' ? [...object] : object;
  const by = step === undefined || step === null ? 1 : Number(step);
  if (by === 0) throw problem('slice step cannot be zero', ctx);
  const clamp = (value: unknown, fallback: number) => {
    if (value === undefined || value === null) return fallback;
    let n = Number(value);
    if (n < 0) n += items.length;
    return Math.min(Math.max(n, by > 0 ? 0 : -1), by > 0 ? items.length : items.length - 1);
  };
  const start = clamp(lower, by > 0 ? 0 : items.length - 1);
  const stop = clamp(upper, by > 0 ? items.length : -1);
  const picked: unknown[] = [];
  for (let i = start; by > 0 ? i < stop : i > stop; i += by) picked.push(items[i]);
  return typeof object === 'string' ? picked.join('') : picked;
}

function compareOrder(op: string, left: unknown, right: unknown, ctx: Context): boolean {
  const comparable =
    (typeof left === 'number' && typeof right === 'number') ||
    (typeof left === 'string' && typeof right === 'string') ||
    (typeof left === 'boolean' && typeof right === 'boolean');
  if (!comparable) {
    throw problem(`'${op}' is not supported between ${typeName(left)} and ${typeName(right)}`, ctx);
  }
  const a = left as number | string;
  const b = right as number | string;
  switch (op) {
    case '<':
      return a < b;
    case '>':
      return a > b;
    case '<=':
      return a <= b;
    default:
      return a >= b;
  }
}

function compare(op: string, left: unknown, right: unknown, ctx: Context): boolean {
  switch (op) {
    case '==':
      return deepEqual(left, right);
    case '!=':
      return !deepEqual(left, right);
    case 'in':
    case 'not in':
      try {
        return contains(right, left) === (op === 'in');
      } catch (error) {
        if (error instanceof EvaluationProblem) throw problem(error.message, ctx);
        throw error;
      }
    default:
      return compareOrder(op, left, right, ctx);
  }
}

function arithmetic(op: string, left: unknown, right: unknown, ctx: Context): unknown {
  if (op === '~') return toText(left) + toText(right);
  if (op === '+') {
    if (typeof left === 'number' && typeof right === 'number') return left + right;
    if (typeof left === 'string' && typeof right === 'string') return left + right;
    if (Array.isArray(left) && Array.isArray(right)) return [...left, ...right];
  } else if (op === '*' && typeof right === 'number' && (typeof left === 'string' || Array.isArray(left))) {
    return typeof left === 'string' ? left.repeat(Math.max(0, right)) : Array.from({ length: Math.max(0, right) }, () => left).flat();
  } else if (op === '%' && typeof left === 'string') {
    return FILTERS.format!(left, Array.isArray(right) ? right : [right], {});
  } else if (typeof left === 'number' && typeof right === 'number') {
    if ((op === '/' || op === '//' || op === '%') && right === 0) throw problem('division by zero', ctx);
    switch (op) {
      case '-':
        return left - right;
      case '*':
        return left * right;
      case '/':
        return left / right;
      case '//':
        return Math.floor(left / right);
      case '%':
        return ((left % right) + right) % right;
      case '**':
        return left ** right;
    }
  }
  throw problem(`unsupported operand types for ${op}: ${typeName(left)} and ${typeName(right)}`, ctx);
}

type Method = (target: unknown, args: unknown[], kwargs: Record<string, unknown>) => unknown;

function pythonSplit(text: string, separator: unknown, maxSplit: unknown): string[] {
  const limit = maxSplit === undefined || maxSplit === null || Number(maxSplit) < 0 ? Infinity : Number(maxSplit);
  const parts =
    separator === undefined || separator === null
      ? text
          .trim()
          .split(/\s+/)
          .filter((p) => p !== '')
      : text.split(String(separator));
  if (parts.length - 1 <= limit) return parts;
  const sep = separator === undefined || separator === null ? ' ' : String(separator);
  return [...parts.slice(0, limit), parts.slice(limit).join(sep)];
}

function stripChars(text: string, chars: unknown, left: boolean, right: boolean): string {
  if (chars === undefined || chars === null) return left && right ? text.trim() : left ? text.trimStart() : text.trimEnd();
  const set = String(chars);
  let start = 0;
  let end = text.length;
  while (left && start < end && set.includes(text[start]!)) start++;
  while (right && end > start && set.includes(text[end - 1]!)) end--;
  return text.slice(start, end);
}

function pythonFormat(template: string, args: unknown[], kwargs: Record<string, unknown>): string {
  let auto = 0;
  return template.replace(/\{\{|\}\}|\{([^{}]*)\}/g, (whole, field: string | undefined) => {
    if (whole === '{{') return '{';
    if (whole === '}}') return '}';
    const name = (field ?? '').split(':')[0]!;
    const value = name === '' ? args[auto++] : /^\d+$/.test(name) ? args[Number(name)] : kwargs[name];
    return toText(value);
  });
}

const STRING_METHODS: Record<string, (text: string, args: unknown[], kwargs: Record<string, unknown>) => unknown> = {
  startswith: (t, [p]) => (Array.isArray(p) ? p : [p]).some((x) => t.startsWith(String(x))),
  endswith: (t, [p]) => (Array.isArray(p) ? p : [p]).some((x) => t.endsWith(String(x))),
  strip: (t, [c]) => stripChars(t, c, true, true),
  lstrip: (t, [c]) => stripChars(t, c, true, false),
  rstrip: (t, [c]) => stripChars(t, c, false, true),
  split: (t, [sep, max]) => pythonSplit(t, sep, max),
  splitlines: (t) => t.split(/\r?\n/).filter((line, i, all) => i < all.length - 1 || line !== ''),
  lower: (t) => t.toLowerCase(),
  upper: (t) => t.toUpperCase(),
  capitalize: (t) => t.charAt(0).toUpperCase() + t.slice(1).toLowerCase(),
  title: (t) => FILTERS.title!(t, [], {}),
  replace: (t, [a, b]) => t.split(String(a)).join(String(b)),
  join: (t, [items]) => (Array.isArray(items) ? items.map(toText).join(t) : ''),
  find: (t, [s]) => t.indexOf(String(s)),
  count: (t, [s]) => (String(s) === '' ? t.length + 1 : t.split(String(s)).length - 1),
  format: (t, args, kwargs) => pythonFormat(t, args, kwargs),
  isdigit: (t) => /^\d+$/.test(t),
  isalpha: (t) => /^[A-Za-z]+$/.test(t),
  isalnum: (t) => /^[A-Za-z0-9]+$/.test(t),
  zfill: (t, [w]) => t.padStart(Number(w), '0'),
};

const DICT_METHODS: Record<string, (dict: Record<string, unknown>, args: unknown[]) => unknown> = {
  keys: (d) => Object.keys(d),
  values: (d) => Object.values(d),
  items: (d) => Object.entries(d),
  get: (d, [key, fallback = null]) => (Object.hasOwn(d, String(key)) ? d[String(key)] : fallback),
  copy: (d) => ({ ...d }),
};

const LIST_METHODS: Record<string, (list: unknown[], args: unknown[]) => unknown> = {
  index: (l, [x]) => l.findIndex((item) => deepEqual(item, x)),
  count: (l, [x]) => l.filter((item) => deepEqual(item, x)).length,
  copy: (l) => [...l],
};

/** Functions callable by name: `range(3)`, `lookup('env', 'HOME')`. */
const GLOBALS: Record<string, (args: unknown[], kwargs: Record<string, unknown>) => unknown> = {
  range: (args) => {
    const [a, b, c] = args.map(Number);
    const [start, stop, step] = args.length === 1 ? [0, a!, 1] : [a!, b!, c ?? 1];
    if (step === 0) throw new EvaluationProblem('range() step must not be zero');
    const out: number[] = [];
    for (let i = start; step > 0 ? i < stop : i > stop; i += step) out.push(i);
    return out;
  },
  lookup: ([plugin, ...terms], kwargs) => {
    if (plugin !== 'env') throw new EvaluationProblem(`lookup plugin '${String(plugin)}' is not supported (only 'env')`);
    const values = terms.map((term) => process.env[String(term)] ?? kwargs.default ?? '');
    return values.length === 1 ? values[0] : values.map(toText).join(',');
  },
  query: ([plugin, ...terms]) => {
    if (plugin !== 'env') throw new EvaluationProblem(`query plugin '${String(plugin)}' is not supported (only 'env')`);
    return terms.map((term) => process.env[String(term)] ?? '');
  },
  dict: (args, kwargs) => ({ ...(isMapping(args[0]) ? args[0] : Object.fromEntries((args[0] as Array<[string, unknown]>) ?? [])), ...kwargs }),
};
GLOBALS.q = GLOBALS.query!;

function evaluateArgs(args: Node[], kwargs: Record<string, Node>, ctx: Context): [unknown[], Record<string, unknown>] {
  const values = args.map((a) => force(evaluateNode(a, ctx), ctx));
  const named: Record<string, unknown> = {};
  for (const [name, node] of Object.entries(kwargs)) named[name] = force(evaluateNode(node, ctx), ctx);
  return [values, named];
}

function callNode(node: Extract<Node, { type: 'call' }>, ctx: Context): unknown {
  const { callee } = node;
  const [args, kwargs] = evaluateArgs(node.args, node.kwargs, ctx);
  try {
    if (callee.type === 'member' && typeof callee.property === 'string') {
      const target = force(evaluateNode(callee.object, ctx), ctx);
      const name = callee.property;
      const table = (typeof target === 'string' ? STRING_METHODS : Array.isArray(target) ? LIST_METHODS : isMapping(target) ? DICT_METHODS : undefined) as
        | Record<string, Method>
        | undefined;
      const method = table && Object.hasOwn(table, name) ? table[name] : undefined;
      if (method) return method(target, args, kwargs);
      throw problem(`${typeName(target)} has no method '${name}'`, ctx);
    }
    if (callee.type === 'name' && !ctx.layers.some((layer) => Object.hasOwn(layer, callee.name))) {
      const fn = GLOBALS[callee.name];
      if (fn) return fn(args, kwargs);
    }
  } catch (error) {
    if (error instanceof EvaluationProblem) throw problem(error.message, ctx);
    throw error;
  }
  throw problem(`'${sourceOf(callee, ctx)}' is not callable`, ctx);
}

function evaluateNode(node: Node, ctx: Context): unknown {
  switch (node.type) {
    case 'literal':
      return node.value;
    case 'name':
      return lookupName(node.name, ctx);
    case 'member':
      return memberOf(evaluateNode(node.object, ctx), node.property, node, node.object, ctx);
    case 'index': {
      const object = evaluateNode(node.object, ctx);
      const key = evaluateNode(node.index, ctx);
      if (isUndefined(key)) return key;
      if (isUndefined(object)) return object;
      if (typeof key !== 'string' && typeof key !== 'number') throw problem(`cannot index with a ${typeName(key)}`, ctx);
      return memberOf(object, key, node, node.object, ctx);
    }
    case 'slice': {
      const object = force(evaluateNode(node.object, ctx), ctx);
      const part = (n?: Node) => (n ? force(evaluateNode(n, ctx), ctx) : undefined);
      return sliceOf(object, part(node.lower), part(node.upper), part(node.step), ctx);
    }
    case 'list':
      return node.items.map((item) => force(evaluateNode(item, ctx), ctx));
    case 'dict': {
      const result: Record<string, unknown> = {};
      for (const [key, value] of node.entries) setKey(result, toText(force(evaluateNode(key, ctx), ctx)), force(evaluateNode(value, ctx), ctx));
      return result;
    }
    case 'unary': {
      const value = force(evaluateNode(node.arg, ctx), ctx);
      if (node.op === 'not') return !truthy(value);
      if (typeof value !== 'number') throw problem(`bad operand type for unary ${node.op}: ${typeName(value)}`, ctx);
      return node.op === '-' ? -value : value;
    }
    case 'binary':
      return arithmetic(node.op, force(evaluateNode(node.left, ctx), ctx), force(evaluateNode(node.right, ctx), ctx), ctx);
    case 'compare': {
      let left = force(evaluateNode(node.first, ctx), ctx);
      for (const { op, node: operand } of node.rest) {
        const right = force(evaluateNode(operand, ctx), ctx);
        if (!compare(op, left, right, ctx)) return false;
        left = right;
      }
      return true;
    }
    case 'logical': {
      const left = evaluateNode(node.left, ctx);
      const decided = node.op === 'and' ? !truthy(force(left, ctx)) : truthy(force(left, ctx));
      return decided ? left : evaluateNode(node.right, ctx);
    }
    case 'conditional':
      if (truthy(force(evaluateNode(node.test, ctx), ctx))) return evaluateNode(node.then, ctx);
      return node.otherwise ? evaluateNode(node.otherwise, ctx) : null;
    case 'filter': {
      let value = evaluateNode(node.arg, ctx);
      if (!UNDEFINED_AWARE_FILTERS.has(node.name)) value = force(value, ctx);
      const [args, kwargs] = evaluateArgs(node.args, node.kwargs, ctx);
      try {
        return FILTERS[node.name]!(value, args, kwargs);
      } catch (error) {
        if (error instanceof Undefined) throw undefinedError(error, ctx);
        if (error instanceof EvaluationProblem) throw problem(`filter '${node.name}': ${error.message}`, ctx);
        throw error;
      }
    }
    case 'test': {
      let value = evaluateNode(node.arg, ctx);
      if (!UNDEFINED_AWARE_TESTS.has(node.name)) value = force(value, ctx);
      const [args, kwargs] = evaluateArgs(node.args, node.kwargs, ctx);
      try {
        return TESTS[node.name]!(value, args, kwargs) !== node.negated;
      } catch (error) {
        if (error instanceof EvaluationProblem) throw problem(error.message, ctx);
        throw error;
      }
    }
    case 'call':
      return callNode(node, ctx);
  }
}

/** Parse, attaching the position; a syntax error in a template points at its column. */
function parseIn(text: string, scope: Scope): Node {
  try {
    return parseExpression(text);
  } catch (error) {
    if (error instanceof TemplateSyntaxError && !error.pos) {
      throw new TemplateSyntaxError(error.message, positionAt(scope, (error as { column?: number }).column), error.hint);
    }
    throw error;
  }
}

/** Evaluate `text` in `scope`; an undefined result is an error. */
export function evaluateInScope(text: string, scope: Scope): unknown {
  const node = parseIn(text, scope);
  const ctx: Context = { ...scope, text };
  return force(evaluateNode(node, ctx), ctx);
}

/** Evaluate a Jinja-style expression (the inside of `{{ }}`) against `vars`. */
export function evaluateExpression(expr: string, vars: Vars, origin?: SourcePos): unknown {
  return evaluateInScope(expr.trim(), { layers: [vars], origin });
}
