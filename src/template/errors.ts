/**
 * Errors of templates and expressions. Both are input errors: they carry the position
 * of the template or expression in the user's files.
 */
import { InputError, type SourcePos } from '../input-error.js';

/** A variable, attribute or item that a template or condition needs but that is not there. */
export class UndefinedVariableError extends InputError {
  constructor(
    /** The path as written, e.g. `result.stdout_lines`. */
    readonly variable: string,
    message: string,
    pos?: SourcePos,
    hint?: string,
  ) {
    super(message, pos, hint);
    this.name = 'UndefinedVariableError';
  }
}

/** An expression or template that cannot be parsed. */
export class TemplateSyntaxError extends InputError {
  constructor(message: string, pos?: SourcePos, hint?: string) {
    super(message, pos, hint);
    this.name = 'TemplateSyntaxError';
  }
}

/** A well-formed expression that fails on the values it meets (a type error, a bad regex). */
export class TemplateEvaluationError extends InputError {
  constructor(message: string, pos?: SourcePos, hint?: string) {
    super(message, pos, hint);
    this.name = 'TemplateEvaluationError';
  }
}
