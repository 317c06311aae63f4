import { InvalidOptionsError } from './errors.js'

/**
 * Validates an integer option.
 *
 * @internal
 * @throws {InvalidOptionsError} when `value` is not an integer >= `min`.
 */
export function intOption(value: number, name: string, min = 1): number {
  if (!Number.isInteger(value) || value < min) {
    throw new InvalidOptionsError(`Option "${name}" must be an integer >= ${min}; got ${String(value)}.`)
  }
  return value
}
