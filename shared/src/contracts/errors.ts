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

/** What kind of failure a domain error is: the service shell answers 404, 409 or 400. */
export type DomainErrorKind = 'not-found' | 'conflict' | 'invalid-input';

const DEFAULT_DOMAIN_CODES: Record<DomainErrorKind, ErrorCode> = {
  'not-found': ErrorCode.notFound,
  conflict: ErrorCode.conflict,
  'invalid-input': ErrorCode.invalidParameter,
};

/**
 * An error of domain code (stores, releases, de-identification): what is wrong in the domain's terms,
 * with its machine-readable code. The service shell turns it into an HTTP answer
 * (`service/error-handling.ts`); the CLI prints its message.
 */
export class DomainError extends Error {
  override name = 'DomainError';
  readonly code: ErrorCode;
  constructor(
    readonly kind: DomainErrorKind,
    message: string,
    code?: ErrorCode,
  ) {
    super(message);
    this.code = code ?? DEFAULT_DOMAIN_CODES[kind];
  }
}
