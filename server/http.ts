import type { Server } from 'node:http';
import type { Duplex } from 'node:stream';

const REFUSALS: Record<string, { status: number; reason: string; code: string; message: string }> = {
  HPE_HEADER_OVERFLOW: {
    status: 431,
    reason: 'Request Header Fields Too Large',
    code: 'headers_too_large',
    message: 'The request’s headers are too large. Clearing this site’s cookies usually helps.',
  },
  HPE_CHUNK_EXTENSIONS_OVERFLOW: {
    status: 413,
    reason: 'Payload Too Large',
    code: 'too_large',
    message: 'The request’s chunk extensions are too large.',
  },
  ERR_HTTP_REQUEST_TIMEOUT: {
    status: 408,
    reason: 'Request Timeout',
    code: 'timeout',
    message: 'The request took too long to arrive. Please try again.',
  },
};

const BAD_REQUEST = { status: 400, reason: 'Bad Request', code: 'bad_request', message: 'The request could not be understood.' };

/**
 * Node's HTTP parser refuses some requests before Express sees them: headers over 16 KiB, a malformed
 * request line or header. Node's own answer has no body (and none at all on a reused connection); ours is the
 * JSON error every API answer has (docs/api.md "Errors"). The path is not known yet, so pages get it too.
 */
export function answerParserErrorsWithJson(server: Server): void {
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    // A response already under way on this socket (a private field of Node's): writing now would corrupt it.
    const busy = (socket as Duplex & { _httpMessage?: unknown })._httpMessage;
    if (err.code === 'ECONNRESET' || !socket.writable || busy) {
      socket.destroy();
      return;
    }
    const r = (err.code && REFUSALS[err.code]) || BAD_REQUEST;
    const body = JSON.stringify({ error: r.code, message: r.message });
    socket.end(
      `HTTP/1.1 ${r.status} ${r.reason}\r\n` +
        'Content-Type: application/json; charset=utf-8\r\n' +
        `Content-Length: ${Buffer.byteLength(body)}\r\n` +
        'Cache-Control: no-store\r\n' +
        'Connection: close\r\n\r\n' +
        body,
    );
  });
}
