/**
 * Conditions: `when:`, `failed_when:`, `changed_when:`, `assert: that:`.
 */
import { InputError, type SourcePos } from '../input-error.js';
import { positionOf } from '../yaml.js';
import { evaluateExpression } from './evaluate.js';
import { renderString } from './render.js';
import { FILTERS } from './filters.js';
import { truthy, type Vars } from './values.js';

/**
 * Evaluate a condition. A list holds when every item holds (Ansible's `when:` list).
 * A bare expression is the usual form; a string in `{{ }}` is rendered first, and a
 * rendered string that reads as a boolean (`True`, `false`, `yes`) counts as one.
 */
export function evaluateCondition(expr: string | boolean | Array<string | boolean>, vars: Vars, origin?: SourcePos): boolean {
  if (typeof expr === 'boolean') return expr;
  if (Array.isArray(expr)) {
    return expr.every((item, index) => evaluateCondition(item, vars, positionOf(expr, index) ?? origin));
  }
  if (typeof expr !== 'string') return truthy(expr);
  if (expr.trim() === '') throw new InputError('empty condition', origin, 'write an expression such as: result.rc == 0');
  if (/\{\{|\{%/.test(expr)) {
    const value = renderString(expr, vars, origin);
    if (typeof value !== 'string') return truthy(value);
    const text = value.trim();
    if (/^(true|false|yes|no|on|off)$/i.test(text)) return FILTERS.bool!(text, [], {}) as boolean;
    return text === '' ? false : truthy(evaluateExpression(text, vars, origin));
  }
  return truthy(evaluateExpression(expr, vars, origin));
}
