/**
 * A lean gRPC unary caller on node:http2, for load generation and for tests that send hand-made frames: one HTTP/2
 * stream per call, the request bytes written as given (a pre-framed message, or anything hostile), the response's
 * messages, status and details read back. No retries, interceptors or metadata objects: what an undici-class HTTP
 * client is to HTTP, so a benchmark measures the server rather than grpc-js's client.
 */
import * as http2 from 'node:http2';

export interface GrpcH2Result {
  /** grpc-status (from trailers, or from the headers of a trailers-only response); undefined if none came. */
  readonly status: number | undefined;
  /** grpc-message, URI-decoded. */
  readonly details: string;
  /** The HTTP status of the response headers. */
  readonly httpStatus: number | undefined;
  /** The response's messages, unframed. */
  readonly messages: Buffer[];
  /** The RST_STREAM code when the server reset the stream (0 otherwise). */
  readonly rstCode: number;
}

/** The 5-byte gRPC prefix and the message, as one buffer. */
export function grpcFrame(message: Uint8Array, compressed = false): Buffer {
  const framed = Buffer.allocUnsafe(message.length + 5);
  framed[0] = compressed ? 1 : 0;
  framed.writeUInt32BE(message.length, 1);
  framed.set(message, 5);
  return framed;
}

/** Split a response body into its messages (the server's framing is trusted here). */
function unframe(body: Buffer): Buffer[] {
  const messages: Buffer[] = [];
  for (let offset = 0; offset + 5 <= body.length; ) {
    const length = body.readUInt32BE(offset + 1);
    messages.push(body.subarray(offset + 5, offset + 5 + length));
    offset += 5 + length;
  }
  return messages;
}

function header(headers: http2.IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * One call: `chunks` written in order (each a DATA write), then the stream ended unless `end` is false.
 * Resolves once the stream closes (rstCode is then ours when `end` is false).
 */
export function grpcH2Call(
  session: http2.ClientHttp2Session,
  path: string,
  chunks: readonly Uint8Array[],
  options: { readonly headers?: http2.OutgoingHttpHeaders; readonly end?: boolean } = {},
): Promise<GrpcH2Result> {
  return new Promise((resolve) => {
    const stream = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers', ...options.headers });
    let status: number | undefined;
    let details = '';
    let httpStatus: number | undefined;
    const body: Buffer[] = [];
    const takeStatus = (headers: http2.IncomingHttpHeaders) => {
      const code = header(headers, 'grpc-status');
      if (code !== undefined) {
        status = Number(code);
        details = decodeURI(header(headers, 'grpc-message') ?? '');
      }
    };
    stream.on('response', (headers) => {
      httpStatus = Number(headers[':status']);
      takeStatus(headers);
    });
    stream.on('trailers', takeStatus);
    stream.on('data', (chunk: Buffer) => body.push(chunk));
    // A call left open (`end: false`) is closed once the server has answered it.
    if (options.end === false) stream.on('end', () => stream.close(http2.constants.NGHTTP2_CANCEL));
    stream.on('error', () => undefined); // a reset: reported through rstCode
    stream.on('close', () => resolve({ status, details, httpStatus, messages: unframe(Buffer.concat(body)), rstCode: stream.rstCode ?? 0 }));
    for (const chunk of chunks) stream.write(chunk);
    if (options.end ?? true) stream.end();
  });
}
