/**
 * The Handlebars environment: compiled translations (see translate.ts), helpers that
 * evaluate tsrun expressions, and the scope each expression sees.
 */
import Handlebars from 'handlebars';
import { InputError, type SourcePos } from '../input-error.js';
import { TemplateSyntaxError } from './errors.js';
import { evaluateInScope, type Scope } from './evaluate.js';
import { translate, type ExpressionEntry, type TemplateLocation } from './translate.js';
import { isMapping, setKey, toOutput, truthy, typeName, type Vars } from './values.js';
import { TemplateEvaluationError } from './errors.js';

/**
 * The scope of a Jinja block: loop variables and `{% set %}` names first, then what was
 * visible where the block started. Handlebars passes it along as the block's context.
 */
class Frame {
  constructor(readonly layers: Vars[]) {}
}

/** How template lines map to the user's files. */
interface Placement {
  /** Position of line 1, column 1 of the template. */
  origin?: SourcePos;
  /** A template file: positions are exact. A YAML string: lines are offset from the key. */
  exact: boolean;
}

interface RenderData {
  table: ExpressionEntry[];
  placement: Placement;
}

interface HelperOptions {
  data: Record<string, unknown> & { tsrun: RenderData; root: unknown };
  hash: Vars;
}

export function placeAt(placement: Placement, location: TemplateLocation): SourcePos | undefined {
  const { origin } = placement;
  if (!origin) return undefined;
  if (placement.exact) {
    return { file: origin.file, line: origin.line + location.line - 1, col: location.line === 1 ? origin.col + location.col - 1 : location.col };
  }
  return { file: origin.file, line: origin.line + location.line - 1, col: location.line === 1 ? origin.col : location.col };
}

/** The layers an expression sees from a Handlebars context. */
function layersOf(context: unknown, options: HelperOptions): Vars[] {
  const layers: Vars[] = [];
  if (Object.keys(options.hash).length > 0) layers.push(options.hash);
  if (context instanceof Frame) return [...layers, ...context.layers];
  // Inside a Handlebars block: its data (@index ...) and context (the item), then the root variables.
  const data: Vars = { this: context };
  for (const key of ['index', 'key', 'first', 'last']) {
    if (options.data[key] !== undefined) data[`@${key}`] = options.data[key];
  }
  layers.push(data);
  if (isMapping(context)) layers.push(context);
  const root = options.data.root;
  if (root instanceof Frame) layers.push(...root.layers);
  return layers;
}

function scopeFor(id: number, context: unknown, options: HelperOptions): { entry: ExpressionEntry; scope: Scope } {
  const { table, placement } = options.data.tsrun;
  const entry = table[id]!;
  return {
    entry,
    scope: { layers: layersOf(context, options), origin: placeAt(placement, entry), originIsExpression: placement.exact },
  };
}

function evaluateEntry(id: number, context: unknown, options: HelperOptions): unknown {
  const { entry, scope } = scopeFor(id, context, options);
  return evaluateInScope(entry.text, scope);
}

const handlebars = Handlebars.create();

handlebars.registerHelper('tsrun_expr', function (this: unknown, id: number, options: HelperOptions) {
  return toOutput(evaluateEntry(id, this, options));
});
handlebars.registerHelper('tsrun_value', function (this: unknown, id: number, options: HelperOptions) {
  return evaluateEntry(id, this, options);
});
handlebars.registerHelper('tsrun_cond', function (this: unknown, id: number, options: HelperOptions) {
  return truthy(evaluateEntry(id, this, options));
});
handlebars.registerHelper('tsrun_set', function (this: unknown, id: number, options: HelperOptions) {
  const { entry, scope } = scopeFor(id, this, options);
  if (!(this instanceof Frame)) {
    throw new TemplateEvaluationError(`{% set ${entry.assign} %} cannot be used inside a Handlebars {{#each}} or {{#with}} block`, scope.origin);
  }
  setKey(this.layers[0]!, entry.assign!, evaluateInScope(entry.text, scope));
  return '';
});
handlebars.registerHelper('tsrun_for', function (this: unknown, id: number, options: HelperOptions) {
  const { entry, scope } = scopeFor(id, this, options);
  const value = evaluateInScope(entry.text, scope);
  const items = Array.isArray(value) ? value : isMapping(value) ? Object.keys(value) : typeof value === 'string' ? [...value] : undefined;
  if (!items) throw new TemplateEvaluationError(`cannot loop over a ${typeName(value)} (in '${entry.text}')`, scope.origin);
  const targets = entry.targets!;
  return items.map((item, index) => {
    const own: Vars = {};
    if (targets.length === 1) {
      setKey(own, targets[0]!, item);
    } else {
      if (!Array.isArray(item) || item.length !== targets.length) {
        throw new TemplateEvaluationError(`cannot unpack ${typeName(item)} into ${targets.join(', ')} (in '${entry.text}')`, scope.origin);
      }
      for (const [i, target] of targets.entries()) setKey(own, target, item[i]);
    }
    own.loop = {
      index: index + 1,
      index0: index,
      revindex: items.length - index,
      revindex0: items.length - index - 1,
      first: index === 0,
      last: index === items.length - 1,
      length: items.length,
      previtem: index > 0 ? items[index - 1] : null,
      nextitem: index < items.length - 1 ? items[index + 1] : null,
    };
    return new Frame([own, ...scope.layers]);
  });
});

const KNOWN_HELPERS = { tsrun_expr: true, tsrun_value: true, tsrun_cond: true, tsrun_set: true, tsrun_for: true };

interface Compiled {
  /** Handlebars' render function, or (for text and `{{ expr }}` only) the parts to join. */
  render: Handlebars.TemplateDelegate | PlainParts;
  table: ExpressionEntry[];
}

/** Literal text, and numbers: the expressions (by table index) between them. */
type PlainParts = Array<string | number>;

const EXPRESSION_CALL = /\{\{tsrun_expr (\d+)\}\}/g;

/**
 * Most strings in playbooks are text with `{{ expr }}` in it: those are joined here, which
 * is what Handlebars would produce, without compiling them into a Handlebars function
 * (about 1 ms each). Anything else Handlebars would read (blocks, comments, whitespace
 * control, a backslash before a mustache) goes to Handlebars.
 */
function plainParts(source: string): PlainParts | undefined {
  const parts: PlainParts = [];
  let last = 0;
  for (const match of source.matchAll(EXPRESSION_CALL)) {
    parts.push(source.slice(last, match.index), Number(match[1]));
    last = match.index + match[0].length;
  }
  parts.push(source.slice(last));
  const plain = parts.every((part) => typeof part === 'number' || (!part.includes('{{') && !part.endsWith('\\')));
  return plain ? parts : undefined;
}

function renderPlain(parts: PlainParts, table: ExpressionEntry[], vars: Vars, placement: Placement): string {
  let output = '';
  for (const part of parts) {
    if (typeof part === 'string') {
      output += part;
    } else {
      const entry = table[part]!;
      output += toOutput(evaluateInScope(entry.text, { layers: [vars], origin: placeAt(placement, entry), originIsExpression: placement.exact }));
    }
  }
  return output;
}

const compiled = new Map<string, Compiled>();

function withLocation(error: unknown, placement: Placement): unknown {
  if (error instanceof TemplateSyntaxError && !error.pos) {
    const location = (error as { location?: TemplateLocation }).location;
    return new TemplateSyntaxError(`template: ${error.message}`, location ? placeAt(placement, location) : placement.origin, error.hint);
  }
  return error;
}

function compile(text: string, placement: Placement): Compiled {
  let found = compiled.get(text);
  if (found) return found;
  let translation: ReturnType<typeof translate>;
  try {
    translation = translate(text);
  } catch (error) {
    throw withLocation(error, placement);
  }
  const parts = plainParts(translation.source);
  if (parts) {
    found = { render: parts, table: translation.table };
    compiled.set(text, found);
    return found;
  }
  try {
    // Parse now, so that a malformed block fails here with its line, not midway through a render.
    handlebars.parse(translation.source);
  } catch (error) {
    const message = (error as Error).message;
    const line = Number(/line (\d+)/.exec(message)?.[1] ?? 1);
    const first =
      message
        .split('\n')
        .filter((l) => l.trim() !== '')
        .at(-1) ?? message;
    throw new TemplateSyntaxError(`template: ${first}`, placeAt(placement, { line, col: 1 }));
  }
  const render = handlebars.compile(translation.source, { noEscape: true, knownHelpers: KNOWN_HELPERS, knownHelpersOnly: true });
  found = { render, table: translation.table };
  compiled.set(text, found);
  return found;
}

/** Render a template text with full block syntax; the text's line 1 is at `placement.origin`. */
export function renderText(text: string, vars: Vars, placement: Placement): string {
  const { render, table } = compile(text, placement);
  const data: RenderData = { table, placement };
  try {
    if (Array.isArray(render)) return renderPlain(render, table, vars, placement);
    return render(new Frame([{}, vars]), { data: { tsrun: data } });
  } catch (error) {
    if (error instanceof InputError) throw error;
    throw new TemplateEvaluationError(`template: ${(error as Error).message}`, placement.origin);
  }
}

/** Render a template file's text (the `template` module): errors name `file:line:col`. */
export function renderTemplate(text: string, vars: Vars, file: string): string {
  return renderText(text, vars, { origin: { file, line: 1, col: 1 }, exact: true });
}
