import type { ErrorObject } from 'ajv';

/** A schema violation in the terms people read: the field (dotted path) and what it must be. */
export interface FieldProblem {
  field: string;
  reason: string;
}

function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

/**
 * Turns the first Ajv error (compiled with `verbose: true`, so it carries the value and its schema)
 * into a field and a reason. `root` names the validated value itself, e.g. `params` or `body`.
 */
export function describeSchemaError(error: ErrorObject, root: string, prefix = ''): FieldProblem {
  const path = error.instancePath.slice(1).split('/').filter(Boolean).join('.');
  const at = (name: string) => `${prefix}${path ? `${path}.` : ''}${name}`;
  switch (error.keyword) {
    case 'required':
      return { field: at(String(error.params.missingProperty)), reason: 'is required' };
    case 'additionalProperties': {
      const known = Object.keys((error.parentSchema as { properties?: object } | undefined)?.properties ?? {}).join(', ');
      return { field: at(String(error.params.additionalProperty)), reason: `is not a known field (expected ${known})` };
    }
  }
  const field = path ? `${prefix}${path}` : root;
  const description = (error.parentSchema as { description?: string } | undefined)?.description;
  // A fraction for an integer field breaks the field's rule rather than its type.
  if (error.keyword === 'type' && !(typeof error.data === 'number' && description)) {
    const type = String(error.params.type);
    const expected = /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
    return { field, reason: `must be ${expected}, got ${describeType(error.data)}` };
  }
  if (error.keyword === 'minLength' && error.data === '') return { field, reason: 'must not be empty' };
  return { field, reason: description ?? error.message ?? 'is invalid' };
}
