/**
 * Typed errors, thrown anywhere and mapped to HTTP in one place (middleware/errors.ts).
 * `code` is stable for programs; `message` is a sentence for a person.
 */
export class AppError extends Error {
  constructor(
    public readonly status: number,
    public readonly code: string,
    message: string,
    public readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }

  /** Fields a JSON answer carries besides `error` and `message` (e.g. the version a 409 found). */
  details: Record<string, unknown> = {};

  withDetails(details: Record<string, unknown>): this {
    this.details = details;
    return this;
  }
}

export class Validation extends AppError {
  constructor(message: string, code = 'validation') {
    super(400, code, message);
  }
}

export class Unauthenticated extends AppError {
  constructor(message = 'Please log in first.', code = 'unauthenticated') {
    super(401, code, message);
  }
}

/** The one message for every failed login step, so nobody learns which part was wrong. */
export const LOGIN_FAILED_MESSAGE = 'That did not work. Check your username, password and code, and try again.';

export class LoginFailed extends AppError {
  constructor(message = LOGIN_FAILED_MESSAGE, code = 'login_failed') {
    super(401, code, message);
  }
}

export class Forbidden extends AppError {
  constructor(message = 'You are not allowed to do that.', code = 'forbidden') {
    super(403, code, message);
  }
}

export class NotFound extends AppError {
  constructor(message = 'Nothing is here.', code = 'not_found') {
    super(404, code, message);
  }
}

export class Conflict extends AppError {
  constructor(message: string, code = 'conflict') {
    super(409, code, message);
  }
}

export class Gone extends AppError {
  constructor(message: string, code = 'gone') {
    super(410, code, message);
  }
}

export class PayloadTooLarge extends AppError {
  constructor(message: string, code = 'too_large') {
    super(413, code, message);
  }
}

export class RateLimited extends AppError {
  constructor(retryAfterSeconds: number) {
    const minutes = Math.max(1, Math.ceil(retryAfterSeconds / 60));
    super(
      429,
      'rate_limited',
      `Too many attempts. Wait ${minutes} minute${minutes === 1 ? '' : 's'} and try again.`,
      { 'Retry-After': String(Math.max(1, Math.ceil(retryAfterSeconds))) },
    );
  }
}
