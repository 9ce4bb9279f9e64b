/**
 * Turns a template (Handlebars blocks, Jinja tags, `{{ expr }}` mustaches) into plain
 * Handlebars source in which every expression is a call of a tsrun helper by number.
 *
 * The expressions themselves go into a table with their line and column in the template,
 * so errors point at the user's text, not at the translation. The translation keeps every
 * newline of the original (a newline eaten by Jinja's trim_blocks moves inside the
 * mustache), so Handlebars' own line numbers stay right too.
 */
import { TemplateSyntaxError } from './errors.js';

export interface ExpressionEntry {
  text: string;
  /** 1-based line and column of the expression text within the template. */
  line: number;
  col: number;
  /** `{% for a, b in ... %}`: the loop variables. */
  targets?: string[];
  /** `{% set name = ... %}`: the variable. */
  assign?: string;
}

export interface Translation {
  source: string;
  table: ExpressionEntry[];
}

export interface TemplateLocation {
  line: number;
  col: number;
}

interface OpenBlock {
  name: string;
  /** How the user opened it, for error messages: `{% for %}` or `{{#each}}`. */
  shown: string;
  line: number;
  col: number;
  blockParams: string[];
}

/** `{% if %}`/`{% for %}` blocks open at once; real templates nest a handful. */
export const BLOCK_DEPTH_LIMIT = 100;

const HANDLEBARS_BLOCKS = new Set(['if', 'unless', 'each', 'with']);
const JINJA_CLOSERS: Record<string, string> = { endif: 'if', endfor: 'each' };
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Index just past the closing `close` that is not inside quotes or nested braces. */
function findClose(text: string, from: number, close: string): number {
  let depth = 0;
  let quoteChar: string | undefined;
  for (let i = from; i < text.length; i++) {
    const ch = text[i]!;
    if (quoteChar) {
      if (ch === '\\') i++;
      else if (ch === quoteChar) quoteChar = undefined;
      continue;
    }
    if (ch === "'" || ch === '"') quoteChar = ch;
    else if (depth === 0 && text.startsWith(close, i)) return i + close.length;
    else if (ch === '{' || ch === '[' || ch === '(') depth++;
    else if ((ch === '}' || ch === ']' || ch === ')') && depth > 0) depth--;
  }
  return -1;
}

export function translate(text: string): Translation {
  const lineStarts = [0];
  for (let i = 0; i < text.length; i++) if (text[i] === '\n') lineStarts.push(i + 1);
  const locate = (offset: number): TemplateLocation => {
    let low = 0;
    let high = lineStarts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if (lineStarts[mid]! <= offset) low = mid;
      else high = mid - 1;
    }
    return { line: low + 1, col: offset - lineStarts[low]! + 1 };
  };
  const fail = (offset: number, message: string, hint?: string): never => {
    const { line, col } = locate(offset);
    const error = new TemplateSyntaxError(message, undefined, hint);
    (error as { location?: TemplateLocation }).location = { line, col };
    throw error;
  };

  const table: ExpressionEntry[] = [];
  const stack: OpenBlock[] = [];
  let out = '';

  /** Register the expression found at [start, end) of the template; returns its number. */
  const entry = (start: number, end: number, extra: Partial<ExpressionEntry> = {}): number => {
    const raw = text.slice(start, end);
    const lead = raw.length - raw.trimStart().length;
    const expression = raw.trim();
    if (expression === '') fail(start, 'expected an expression, found nothing');
    table.push({ text: expression, ...locate(start + lead), ...extra });
    return table.length - 1;
  };
  /** Block parameters in scope become hash arguments, the only way a helper can see them. */
  const blockParamHash = (): string => {
    const names = [...new Set(stack.flatMap((block) => block.blockParams))];
    return names.map((name) => ` ${name}=${name}`).join('');
  };
  const call = (helper: string, id: number): string => `${helper} ${id}${blockParamHash()}`;
  const open = (name: string, shown: string, offset: number, blockParams: string[] = []) => {
    // Compiling recurses once per open block: the limit keeps a hostile template off the stack's end.
    if (stack.length >= BLOCK_DEPTH_LIMIT) fail(offset, `blocks nested more than ${BLOCK_DEPTH_LIMIT} deep`, 'split the template with include or macros');
    stack.push({ name, shown, ...locate(offset), blockParams });
  };
  const close = (name: string, shown: string, offset: number) => {
    const top = stack.pop();
    if (!top) fail(offset, `${shown} without an open block`);
    else if (top.name !== name) {
      fail(offset, `${shown} does not close ${top.shown} opened at line ${top.line}:${top.col}`);
    }
  };
  const expectOpen = (names: string[], shown: string, offset: number) => {
    const top = stack.at(-1);
    if (!top || !names.includes(top.name)) fail(offset, `${shown} outside ${names.map((n) => (n === 'each' ? '{% for %}' : `{% ${n} %}`)).join(' or ')}`);
  };

  let i = 0;
  while (i < text.length) {
    const next = text.slice(i).search(/\\\{\{|\{\{|\{%|\{#/);
    if (next < 0) {
      out += text.slice(i);
      break;
    }
    out += text.slice(i, i + next);
    i += next;

    if (text.startsWith('\\{{', i)) {
      out += '\\{{';
      i += 3;
      continue;
    }

    if (text.startsWith('{{!', i)) {
      const long = text.startsWith('{{!--', i);
      const end = text.indexOf(long ? '--}}' : '}}', i);
      if (end < 0) fail(i, 'unclosed comment', long ? 'close it with --}}' : 'close it with }}');
      const stop = end + (long ? 4 : 2);
      out += text.slice(i, stop);
      i = stop;
      continue;
    }

    if (text.startsWith('{#', i)) {
      const end = text.indexOf('#}', i + 2);
      if (end < 0) fail(i, 'unclosed comment', 'close it with #}');
      const body = text.slice(i + 2, end);
      let stop = end + 2;
      const stripBefore = body.startsWith('-');
      const stripAfter = body.endsWith('-');
      let newlines = body.replace(/[^\n]/g, '');
      if (!stripAfter && text[stop] === '\n') {
        newlines += '\n';
        stop++;
      }
      out += `{{${stripBefore ? '~' : ''}!--${newlines}--${stripAfter ? '~' : ''}}}`;
      i = stop;
      continue;
    }

    if (text.startsWith('{%', i)) {
      const tagStart = i;
      const end = findClose(text, i + 2, '%}');
      if (end < 0) fail(i, 'unclosed tag', 'close it with %}');
      let innerStart = i + 2;
      let innerEnd = end - 2;
      const stripBefore = text[innerStart] === '-';
      if (stripBefore || text[innerStart] === '+') innerStart++;
      const stripAfter = text[innerEnd - 1] === '-';
      const keepNewline = text[innerEnd - 1] === '+';
      if (stripAfter || keepNewline) innerEnd--;
      let stop = end;
      // Jinja's trim_blocks (Ansible's default): the newline after a tag is not output.
      let eaten = '';
      if (!stripAfter && !keepNewline && text[stop] === '\n') {
        eaten = '\n';
        stop++;
      }
      const inner = text.slice(innerStart, innerEnd);
      const keyword = /^\s*(\w+)/.exec(inner)?.[1] ?? '';
      const argsStart = innerStart + inner.indexOf(keyword) + keyword.length;
      const pre = stripBefore ? '~' : '';
      const post = (stripAfter ? '~' : '') + '}}';
      const newlinesInside = inner.replace(/[^\n]/g, '') + eaten;
      const emit = (body: string) => {
        out += `{{${pre}${body}${newlinesInside}${post}`;
      };
      switch (keyword) {
        case 'if':
          emit(`#if (${call('tsrun_cond', entry(argsStart, innerEnd))})`);
          open('if', '{% if %}', tagStart);
          break;
        case 'elif':
          expectOpen(['if'], '{% elif %}', tagStart);
          emit(`else if (${call('tsrun_cond', entry(argsStart, innerEnd))})`);
          break;
        case 'else':
          expectOpen(['if', 'each'], '{% else %}', tagStart);
          emit('else');
          break;
        case 'endif':
        case 'endfor':
          close(JINJA_CLOSERS[keyword]!, `{% ${keyword} %}`, tagStart);
          emit(`/${JINJA_CLOSERS[keyword]!}`);
          break;
        case 'for': {
          const spec = /^(\s*)([A-Za-z_]\w*(?:\s*,\s*[A-Za-z_]\w*)*)\s+in\s/.exec(text.slice(argsStart, innerEnd));
          if (!spec) fail(argsStart, "expected '{% for NAME in EXPRESSION %}'");
          const targets = spec![2]!.split(',').map((t) => t.trim());
          emit(`#each (${call('tsrun_for', entry(argsStart + spec![0].length, innerEnd, { targets }))})`);
          open('each', '{% for %}', tagStart);
          break;
        }
        case 'set': {
          const spec = /^\s*([A-Za-z_]\w*)\s*=(?!=)/.exec(text.slice(argsStart, innerEnd));
          if (!spec) fail(argsStart, "expected '{% set NAME = EXPRESSION %}'");
          emit(call('tsrun_set', entry(argsStart + spec![0].length, innerEnd, { assign: spec![1]! })));
          break;
        }
        case 'raw': {
          const endRaw = /\{%-?\s*endraw\s*-?%\}/.exec(text.slice(stop));
          if (!endRaw) fail(tagStart, '{% raw %} without {% endraw %}');
          const body = text.slice(stop, stop + endRaw!.index);
          // Literal text: only `{{` means something to Handlebars, and `\{{` escapes it.
          out += `{{${pre}!--${newlinesInside}--${stripAfter ? '~' : ''}}}` + body.replace(/\{\{/g, '\\{{');
          stop += endRaw!.index + endRaw![0].length;
          if (text[stop] === '\n') {
            out += '{{!--\n--}}';
            stop++;
          }
          break;
        }
        default:
          fail(
            tagStart,
            keyword === '' ? 'empty tag {% %}' : `unsupported tag '{% ${keyword} %}'`,
            'tsrun templates support if/elif/else/endif, for/else/endfor, set, raw and {# comments #}',
          );
      }
      i = stop;
      continue;
    }

    // A mustache: `{{ expr }}`, `{{{ expr }}}`, or a Handlebars block tag.
    const triple = text.startsWith('{{{', i);
    const end = findClose(text, i + (triple ? 3 : 2), triple ? '}}}' : '}}');
    if (end < 0) fail(i, 'unclosed {{', 'close it with }}');
    let innerStart = i + (triple ? 3 : 2);
    let innerEnd = end - (triple ? 3 : 2);
    const stripBefore = text[innerStart] === '~' || text[innerStart] === '-';
    if (stripBefore) innerStart++;
    const stripAfter = text[innerEnd - 1] === '~' || (text[innerEnd - 1] === '-' && /\s/.test(text[innerEnd - 2] ?? ''));
    if (stripAfter) innerEnd--;
    const pre = stripBefore ? '~' : '';
    const post = stripAfter ? '~' : '';
    const inner = text.slice(innerStart, innerEnd);
    const trimmed = inner.trim();
    const lead = innerStart + inner.indexOf(trimmed);
    const newlines = inner.replace(/[^\n]/g, '');
    const mustacheStart = i;
    i = end;

    if (trimmed.startsWith('#')) {
      const spec = /^#\s*(\w+)/.exec(trimmed);
      const name = spec?.[1] ?? '';
      if (!HANDLEBARS_BLOCKS.has(name)) {
        fail(mustacheStart, `unknown block helper '{{#${name}}}'`, 'tsrun templates support {{#if}}, {{#unless}}, {{#each}} and {{#with}}');
      }
      let argsEnd = lead + trimmed.length;
      const params = /\s+as\s+\|([^|]*)\|\s*$/.exec(trimmed);
      let blockParams: string[] = [];
      if (params) {
        blockParams = params[1]!.trim().split(/\s+/).filter(Boolean);
        const bad = blockParams.find((p) => !IDENTIFIER.test(p));
        if (bad !== undefined) fail(mustacheStart, `invalid block parameter '${bad}'`);
        argsEnd -= params[0].length;
      }
      const argsStart = lead + spec![0].length;
      if (text.slice(argsStart, argsEnd).trim() === '') fail(mustacheStart, `{{#${name}}} needs an expression`);
      const helper = name === 'if' || name === 'unless' ? 'tsrun_cond' : 'tsrun_value';
      const id = entry(argsStart, argsEnd);
      out += `{{${pre}#${name} (${call(helper, id)})${params ? ` as |${blockParams.join(' ')}|` : ''}${newlines}${post}}}`;
      open(name, `{{#${name}}}`, mustacheStart, blockParams);
      continue;
    }
    if (trimmed.startsWith('/')) {
      const name = trimmed.slice(1).trim();
      close(name, `{{/${name}}}`, mustacheStart);
      out += `{{${pre}/${name}${newlines}${post}}}`;
      continue;
    }
    const elseIf = /^else\s+if\s/.exec(trimmed);
    if (trimmed === 'else' || trimmed === '^' || elseIf) {
      expectOpen(['if', 'unless', 'each', 'with'], `{{${trimmed.split(/\s/)[0]}}}`, mustacheStart);
      out += elseIf
        ? `{{${pre}else if (${call('tsrun_cond', entry(lead + elseIf[0].length, lead + trimmed.length))})${newlines}${post}}}`
        : `{{${pre}else${newlines}${post}}}`;
      continue;
    }
    if (trimmed.startsWith('>')) fail(mustacheStart, 'partials ({{> name}}) are not supported');
    const exprStart = trimmed.startsWith('&') ? lead + 1 : lead;
    out += `{{${pre}${call('tsrun_expr', entry(exprStart, lead + trimmed.length))}${newlines}${post}}}`;
  }

  const unclosed = stack.at(-1);
  if (unclosed) {
    const closer = unclosed.shown === '{% if %}' ? '{% endif %}' : unclosed.shown === '{% for %}' ? '{% endfor %}' : `{{/${unclosed.name}}}`;
    const error = new TemplateSyntaxError(`${unclosed.shown} opened at line ${unclosed.line}:${unclosed.col} is never closed`, undefined, `add ${closer}`);
    (error as { location?: TemplateLocation }).location = { line: unclosed.line, col: unclosed.col };
    throw error;
  }
  return { source: out, table };
}
