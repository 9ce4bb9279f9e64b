/**
 * Rendering of strings found in playbooks and variables, and of whole data structures.
 */
import { copyPosition, positionOf } from '../yaml.js';
import type { SourcePos } from '../input-error.js';
import { placeAt, renderText } from './template-renderer.js';
import { evaluateInScope } from './evaluate.js';
import { isMapping, setKey, type Vars } from './values.js';

/** Where the closing `}}` of the mustache opening at `from` ends, or -1. */
function mustacheEnd(text: string, from: number): number {
  let quoteChar: string | undefined;
  let depth = 0;
  for (let i = from + 2; i < text.length; i++) {
    const ch = text[i]!;
    if (quoteChar) {
      if (ch === '\\') i++;
      else if (ch === quoteChar) quoteChar = undefined;
    } else if (ch === "'" || ch === '"') quoteChar = ch;
    else if (depth === 0 && text.startsWith('}}', i)) return i + 2;
    else if (ch === '{' || ch === '[' || ch === '(') depth++;
    else if ((ch === '}' || ch === ']' || ch === ')') && depth > 0) depth--;
  }
  return -1;
}

/** The expression of a string that is exactly one `{{ expr }}` (whitespace around allowed). */
function soleExpression(text: string): { expression: string; offset: number } | undefined {
  const start = text.indexOf('{{');
  if (start < 0 || text.slice(0, start).trim() !== '' || text.startsWith('{{{', start)) return undefined;
  const end = mustacheEnd(text, start);
  if (end < 0 || text.slice(end).trim() !== '') return undefined;
  let inner = text.slice(start + 2, end - 2);
  let offset = start + 2;
  if (inner.startsWith('-') || inner.startsWith('~')) {
    inner = inner.slice(1);
    offset++;
  }
  if (/[-~]$/.test(inner) && /\s/.test(inner.at(-2) ?? '')) inner = inner.slice(0, -1);
  const expression = inner.trim();
  // Block tags and comments are templates, not expressions.
  if (expression === '' || /^[#/!>^&]/.test(expression) || /^else\b/.test(expression)) return undefined;
  return { expression, offset: offset + inner.indexOf(expression) };
}

function lineAndColumn(text: string, offset: number): { line: number; col: number } {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return { line, col: offset - before.lastIndexOf('\n') };
}

/**
 * Render a string from a playbook or variable. A string that is exactly one `{{ expr }}`
 * gives the expression's own value (a list stays a list), as Ansible does; any other
 * text with `{{`, `{%` or `{#` renders to a string; anything else comes back untouched.
 */
export function renderString(text: string, vars: Vars, origin?: SourcePos): unknown {
  if (typeof text !== 'string' || !text.includes('{') || !/\{\{|\{%|\{#/.test(text)) return text;
  const sole = soleExpression(text);
  if (sole) {
    const placement = { origin, exact: false };
    const value = evaluateInScope(sole.expression, { layers: [vars], origin: placeAt(placement, lineAndColumn(text, sole.offset)) });
    // Whitespace around a lone expression is part of the text when the result is text
    // (`content: "{{ line }}\n"` keeps its newline).
    if (text.trim() !== text && (typeof value === 'string' || value === null || value === undefined)) return renderText(text, vars, { origin, exact: false });
    return value;
  }
  return renderText(text, vars, { origin, exact: false });
}

/**
 * Render every string inside `value` (objects and arrays, deeply). Each string's errors
 * point at its own key or item when the value came from a loaded YAML file. Parts that
 * do not change are returned as they are.
 */
export function renderValue(value: unknown, vars: Vars, origin?: SourcePos): unknown {
  if (typeof value === 'string') return renderString(value, vars, origin);
  if (Array.isArray(value)) {
    let changed = false;
    const result = value.map((item, index) => {
      const rendered = renderValue(item, vars, positionOf(value, index) ?? origin);
      if (rendered !== item) changed = true;
      return rendered;
    });
    if (!changed) return value;
    copyPosition(value, result);
    return result;
  }
  if (isMapping(value)) {
    let changed = false;
    const result: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      const rendered = renderValue(item, vars, positionOf(value, key) ?? origin);
      if (rendered !== item) changed = true;
      setKey(result, key, rendered);
    }
    if (!changed) return value;
    copyPosition(value, result);
    return result;
  }
  return value;
}
