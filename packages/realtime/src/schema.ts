/**
 * Channel schemas: the Standard Schema interface (https://standardschema.dev) that zod, valibot,
 * arktype and others implement, copied here as its authors intend so that no schema library is a
 * dependency, and the one function that runs a schema for the client and every server.
 *
 * @module
 */

/** The Standard Schema interface, version 1 (the part a consumer uses). */
export interface StandardSchemaV1<Input = unknown, Output = Input> {
  readonly '~standard': StandardSchemaV1.Props<Input, Output>
}

export declare namespace StandardSchemaV1 {
  export interface Props<Input = unknown, Output = Input> {
    readonly version: 1
    readonly vendor: string
    readonly validate: (value: unknown) => Result<Output> | Promise<Result<Output>>
    readonly types?: Types<Input, Output> | undefined
  }
  export type Result<Output> = SuccessResult<Output> | FailureResult
  export interface SuccessResult<Output> {
    readonly value: Output
    readonly issues?: undefined
  }
  export interface FailureResult {
    readonly issues: ReadonlyArray<Issue>
  }
  export interface Issue {
    readonly message: string
    readonly path?: ReadonlyArray<PropertyKey | PathSegment> | undefined
  }
  export interface PathSegment {
    readonly key: PropertyKey
  }
  export interface Types<Input = unknown, Output = Input> {
    readonly input: Input
    readonly output: Output
  }
  export type InferInput<Schema extends StandardSchemaV1> = NonNullable<Schema['~standard']['types']>['input']
  export type InferOutput<Schema extends StandardSchemaV1> = NonNullable<Schema['~standard']['types']>['output']
}

/** One problem a schema found, as it travels on the wire: where (`path`, empty for the root) and what. */
export interface SchemaIssue {
  message: string
  path: (string | number)[]
}

/** The most issues an error carries (a payload with more reports the first ones). */
const MAX_ISSUES = 20

/** The result of {@link validateWith}: the schema's output, or the issues it found. */
export type Validated<T> = { value: T; issues?: undefined } | { issues: SchemaIssue[] }

/**
 * Runs `schema` on `value`: synchronously when the schema does (zod, valibot and arktype without
 * async refinements), else with a promise.
 */
export function validateWith<T>(
  schema: StandardSchemaV1<unknown, T>,
  value: unknown,
): Validated<T> | Promise<Validated<T>> {
  const result = schema['~standard'].validate(value)
  return result instanceof Promise ? result.then(normalize) : normalize(result)
}

function normalize<T>(result: StandardSchemaV1.Result<T>): Validated<T> {
  return result.issues ? { issues: wireIssues(result.issues) } : { value: result.value }
}

/** Issues in their wire form: plain paths of keys and indexes, at most {@link MAX_ISSUES}, short messages. */
function wireIssues(issues: ReadonlyArray<StandardSchemaV1.Issue>): SchemaIssue[] {
  return issues.slice(0, MAX_ISSUES).map(({ message, path }) => ({
    message: String(message).slice(0, 500),
    path: (path ?? []).map((segment) => {
      const key = typeof segment === 'object' && segment !== null ? segment.key : segment
      return typeof key === 'number' ? key : String(key)
    }),
  }))
}

/** A one-line summary of issues for an error message: `Invalid message: text: Too long; at: Required.` */
export function describeIssues(what: string, issues: readonly SchemaIssue[]): string {
  const shown = issues
    .slice(0, 3)
    .map(({ path, message }) => (path.length ? `${path.join('.')}: ${message}` : message))
    .join('; ')
  const more = issues.length > 3 ? ` (and ${issues.length - 3} more)` : ''
  return `Invalid ${what} (the channel's schema): ${shown}${more}.`
}
