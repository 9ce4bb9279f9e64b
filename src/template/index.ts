/**
 * Templating and conditions: Handlebars as the engine, Ansible/Jinja expressions inside.
 */
export { UndefinedVariableError, TemplateSyntaxError, TemplateEvaluationError } from './errors.js';
export { evaluateExpression } from './evaluate.js';
export { evaluateCondition } from './condition.js';
export { renderString, renderValue } from './render.js';
export { renderTemplate } from './template-renderer.js';
export { truthy, toText, Undefined, type Vars } from './values.js';
