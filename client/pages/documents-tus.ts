/** Reading the server's tus answers (docs/api.md "Uploading") for the uploads of the Documents page. */
import type { DetailedError } from 'tus-js-client';
import { isDocumentView, type DocumentView } from './documents-model.js';

/** The server's sentence from a tus error (its JSON {error, message}), or a general one. */
export function tusMessage(err: Error | DetailedError): { status: number; message: string } {
  const res = (err as DetailedError).originalResponse;
  const status = res ? res.getStatus() : 0;
  if (res) {
    try {
      const body = JSON.parse(res.getBody()) as { message?: unknown };
      if (typeof body.message === 'string' && body.message) return { status, message: body.message };
    } catch {
      // not JSON
    }
  }
  if (status === 401) return { status, message: 'Your session has ended. Please log in again.' };
  if (status === 403) return { status, message: 'This page is out of date. Reload it and try again.' };
  if (status === 0) return { status, message: "The upload stopped: can't reach the Heirloom server. Check your connection and add the file again." };
  return { status, message: 'The upload failed on the server. Please try again in a moment.' };
}

/**
 * Worth trying again: the connection dropped or the server had a moment. tus's own rule also gives up
 * while the browser says it is offline; a family's Wi-Fi blinks, so here that only waits longer (pause).
 */
export function transient(err: Error | DetailedError): boolean {
  const d = err as DetailedError;
  if (!d.originalRequest) return false; // the file or the encryption failed, not the network
  const status = d.originalResponse ? d.originalResponse.getStatus() : 0;
  if (status === 409 && d.originalRequest.getMethod() === 'POST') return false; // the ID exists: final
  return status === 0 || status >= 500 || status === 409 || status === 423;
}


/** The `{document}` a finishing creation request answers with (docs/api.md "Uploading"), if it did. */
export function documentIn(body: string): DocumentView | null {
  try {
    const parsed = JSON.parse(body) as { document?: unknown };
    return isDocumentView(parsed.document) ? parsed.document : null;
  } catch {
    return null;
  }
}

/** The server's error code of a tus error, e.g. `document_exists`. */
export function tusCode(err: Error | DetailedError): string {
  try {
    const body = JSON.parse((err as DetailedError).originalResponse?.getBody() ?? '') as { error?: unknown };
    return typeof body.error === 'string' ? body.error : '';
  } catch {
    return '';
  }
}
