import { Ajv, type AnySchemaObject, type ValidateFunction } from 'ajv';

import type { JsonValue } from '../audit/canonical-json.js';
import { invalidArgument, showValue } from '../errors.js';

/** Returns the problems of a document, one message each; an empty list or `undefined` accepts it. */
export type ConfigValidatorFunction = (value: JsonValue) => readonly string[] | undefined | void;

/** A function, or a JSON Schema (draft-07) object that ajv compiles. */
export type ConfigValidator = ConfigValidatorFunction | AnySchemaObject;

/** A validator ready to run: returns the messages of a rejected document, `[]` for a valid one. */
export type CompiledValidator = (value: JsonValue) => string[];

/**
 * Checks a validator and turns it into one function, compiling a schema once. An exception thrown by
 * a validator function reaches the caller of `set` unchanged.
 */
export function compileValidator(validator: unknown, name: string): CompiledValidator {
  if (typeof validator === 'function') return runFunction(validator as ConfigValidatorFunction, name);
  if (validator === null || typeof validator !== 'object' || Array.isArray(validator)) {
    throw invalidArgument(`${name} must be a function that returns messages or a JSON Schema object, got ${showValue(validator)}.`, {});
  }

  let validate: ValidateFunction;
  try {
    // One instance per schema, so two keys may use schemas with the same $id. Ajv's default strict
    // schema mode rejects unknown keywords, so a misspelled "requried" fails here instead of letting
    // every document through. logger: false keeps Ajv's warnings off the console.
    validate = new Ajv({ allErrors: true, logger: false }).compile(validator as AnySchemaObject);
  } catch (error) {
    throw invalidArgument(`${name} is not a valid JSON Schema: ${(error as Error).message}.`, {});
  }
  return (value) => {
    if (validate(value)) return [];
    return (validate.errors ?? []).map((error) => `${error.instancePath === '' ? '(document)' : error.instancePath} ${error.message ?? 'is invalid'}`);
  };
}

function runFunction(validator: ConfigValidatorFunction, name: string): CompiledValidator {
  return (value) => {
    const messages = validator(value);
    if (messages === undefined) return [];
    if (!Array.isArray(messages) || !messages.every((message) => typeof message === 'string')) {
      throw invalidArgument(`${name} must return an array of message strings or undefined, got ${showValue(messages)}.`, {});
    }
    return [...messages];
  };
}
