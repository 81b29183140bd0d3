/** Machine-readable error codes returned as `{"error":{"code","message"}}` by every API. */
export const ErrorCode = {
  invalidJson: 'invalid_json',
  invalidBody: 'invalid_body',
  invalidParameter: 'invalid_parameter',
  unsupportedMediaType: 'unsupported_media_type',
  payloadTooLarge: 'payload_too_large',
  unknownSite: 'unknown_site',
  urlOutsideSite: 'url_outside_site',
  notFound: 'not_found',
  unauthorized: 'unauthorized',
  forbidden: 'forbidden',
  rateLimited: 'rate_limited',
  unavailable: 'unavailable',
  budgetExhausted: 'budget_exhausted',
  conflict: 'conflict',
  internal: 'internal',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export type ErrorBody = { error: { code: ErrorCode; message: string } };

export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly statusCode: number,
    readonly code: ErrorCode,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }

  toBody(): ErrorBody {
    return { error: { code: this.code, message: this.message } };
  }
}

export const errorBody = (code: ErrorCode, message: string): ErrorBody => ({ error: { code, message } });

/**
 * Errors of domain code (stores, releases, de-identification): they say what is wrong in the
 * domain's terms and carry the machine-readable code; the service shell turns them into HTTP
 * answers (`service/error-handling.ts`) and the CLI prints their message.
 */
export class NotFoundError extends Error {
  override name = 'NotFoundError';
  constructor(
    message: string,
    readonly code: ErrorCode = ErrorCode.notFound,
  ) {
    super(message);
  }
}

/** The request contradicts the current state (a duplicate, an exhausted budget). */
export class ConflictError extends Error {
  override name = 'ConflictError';
  constructor(
    message: string,
    readonly code: ErrorCode = ErrorCode.conflict,
  ) {
    super(message);
  }
}

/** An input that passed its schema but is not acceptable (a month not over yet, a merge that breaks a rule). */
export class InvalidInputError extends Error {
  override name = 'InvalidInputError';
  constructor(
    message: string,
    readonly code: ErrorCode = ErrorCode.invalidParameter,
  ) {
    super(message);
  }
}

export type DomainError = NotFoundError | ConflictError | InvalidInputError;
