/**
 * The one set of error classes Polarity throws at its edges. Each carries a stable code;
 * `httpStatus` and `exitCode` map it once for the servers and the CLI (CONTRIBUTING.md §5).
 * Codes follow MLflow's names so the tracking server can return them unchanged.
 */
export type ErrorCode =
  | "INVALID_PARAMETER_VALUE"
  | "BAD_REQUEST"
  | "RESOURCE_ALREADY_EXISTS"
  | "RESOURCE_DOES_NOT_EXIST"
  | "ENDPOINT_NOT_FOUND"
  | "UNAUTHENTICATED"
  | "PERMISSION_DENIED"
  | "RESOURCE_CONFLICT"
  | "REQUEST_LIMIT_EXCEEDED"
  | "PAYLOAD_TOO_LARGE"
  | "UNSUPPORTED_MEDIA_TYPE"
  | "DATA_ERROR"
  | "IO_ERROR"
  | "TEMPORARILY_UNAVAILABLE"
  | "INTERNAL_ERROR";

const HTTP_STATUS: Record<ErrorCode, number> = {
  INVALID_PARAMETER_VALUE: 400,
  BAD_REQUEST: 400,
  RESOURCE_ALREADY_EXISTS: 400,
  RESOURCE_DOES_NOT_EXIST: 404,
  ENDPOINT_NOT_FOUND: 404,
  UNAUTHENTICATED: 401,
  PERMISSION_DENIED: 403,
  RESOURCE_CONFLICT: 409,
  REQUEST_LIMIT_EXCEEDED: 429,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  DATA_ERROR: 400,
  IO_ERROR: 500,
  TEMPORARILY_UNAVAILABLE: 503,
  INTERNAL_ERROR: 500,
};

/** CLI exit codes: 2 = the user's input is wrong, 3 = a thing named does not exist, 4 = conflict/lock, 1 = anything else. */
const EXIT_CODE: Partial<Record<ErrorCode, number>> = {
  INVALID_PARAMETER_VALUE: 2,
  BAD_REQUEST: 2,
  DATA_ERROR: 2,
  RESOURCE_DOES_NOT_EXIST: 3,
  RESOURCE_ALREADY_EXISTS: 4,
  RESOURCE_CONFLICT: 4,
};

export class PolarityError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "PolarityError";
    this.code = code;
  }
  get httpStatus(): number {
    return HTTP_STATUS[this.code];
  }
  get exitCode(): number {
    return EXIT_CODE[this.code] ?? 1;
  }
  toJSON(): { error_code: ErrorCode; message: string } {
    return { error_code: this.code, message: this.message };
  }
}

/** A caller passed a bad value (option, parameter, argument). */
export class InvalidParameterError extends PolarityError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("INVALID_PARAMETER_VALUE", message, options);
    this.name = "InvalidParameterError";
  }
}

/** The data given cannot be used (empty corpus, one class, mismatched lengths, malformed file). */
export class DataError extends PolarityError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("DATA_ERROR", message, options);
    this.name = "DataError";
  }
}

export class NotFoundError extends PolarityError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("RESOURCE_DOES_NOT_EXIST", message, options);
    this.name = "NotFoundError";
  }
}

export class AlreadyExistsError extends PolarityError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("RESOURCE_ALREADY_EXISTS", message, options);
    this.name = "AlreadyExistsError";
  }
}

export class ConflictError extends PolarityError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("RESOURCE_CONFLICT", message, options);
    this.name = "ConflictError";
  }
}

/**
 * The service cannot answer now but may later: no model loaded yet, or a work budget is
 * exhausted (load shedding). `retryAfterSeconds` becomes the HTTP `Retry-After` header.
 */
export class UnavailableError extends PolarityError {
  readonly retryAfterSeconds: number | undefined;
  constructor(message: string, options?: { cause?: unknown; retryAfterSeconds?: number }) {
    super("TEMPORARILY_UNAVAILABLE", message, options);
    this.name = "UnavailableError";
    this.retryAfterSeconds = options?.retryAfterSeconds;
  }
}

/** A request (body, batch, text, response) is over a configured size limit. */
export class PayloadTooLargeError extends PolarityError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("PAYLOAD_TOO_LARGE", message, options);
    this.name = "PayloadTooLargeError";
  }
}

export function httpStatusOf(code: ErrorCode): number {
  return HTTP_STATUS[code];
}

/** Message of any thrown value, for one-line reports. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
