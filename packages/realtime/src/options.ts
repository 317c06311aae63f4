import { InvalidOptionsError } from './errors.js'

/**
 * Validates an integer option.
 *
 * @internal
 * @throws {InvalidOptionsError} when `value` is not an integer from `min` to `max`.
 */
export function intOption(value: number, name: string, min = 1, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`
    throw new InvalidOptionsError(`Option "${name}" must be an integer ${range}; got ${String(value)}.`)
  }
  return value
}
