import { fromB64 } from '../../client/crypto/index.js';
import { Validation } from '../errors.js';

/** Decodes a base64 field a client sent; a 400 naming it when it is not base64. */
export function b64Field(value: string, what: string, code = 'validation'): Uint8Array {
  try {
    return fromB64(value);
  } catch {
    throw new Validation(`${what} is not valid base64.`, code);
  }
}
