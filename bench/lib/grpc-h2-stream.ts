/**
 * A lean ModelStreamInfer caller on node:http2, for load generation: one long-lived bidirectional stream, each
 * request one gRPC message written to it (no HEADERS or trailers per request, unlike ModelInfer), each answer one
 * ModelStreamInferResponse, matched to its request by the request's `id` (the server echoes it in infer_response).
 * Any number of requests may be outstanding on the stream. What grpc-h2.ts is to ModelInfer; no retries, metadata
 * objects or interceptors, so a benchmark measures the server.
 *
 * Failures are never silent: a response with an error_message, without infer_response, with an unknown id or not
 * flagged final (a decoupled model's several responses: not what this caller is for) rejects its request (or, when it
 * names none, every outstanding one) and is counted in `errors`; the stream closing with requests outstanding rejects
 * them with its grpc-status.
 */
import * as http2 from 'node:http2';
import { deserializeStreamInferResponse } from '../../server/protocol/grpc/infer-wire';
import type { ModelInferResponseMessage } from '../../server/protocol/grpc/messages';

export const MODEL_STREAM_INFER_PATH = '/inference.GRPCInferenceService/ModelStreamInfer';

/** protobuf tag of ModelInferRequest.id (field 3, length-delimited). */
const ID_TAG = (3 << 3) | 2;

/**
 * The gRPC frame of a serialized ModelInferRequest with `id` set: the id field appended after the message's other
 * fields (protobuf parsers accept fields in any order, a later one winning), so each request costs a copy of the
 * pre-encoded body and no protobuf encode. `body` must not set id itself; ids are at most 127 bytes (one-byte length).
 */
export function streamRequestFrame(body: Uint8Array, id: string): Buffer {
  const idLength = Buffer.byteLength(id);
  if (idLength > 127) throw new Error(`request id too long for this framing (${idLength} bytes)`);
  const length = body.length + 2 + idLength;
  const frame = Buffer.allocUnsafe(5 + length);
  frame[0] = 0;
  frame.writeUInt32BE(length, 1);
  frame.set(body, 5);
  frame[5 + body.length] = ID_TAG;
  frame[6 + body.length] = idLength;
  frame.write(id, 7 + body.length);
  return frame;
}

interface Pending {
  readonly resolve: (response: ModelInferResponseMessage) => void;
  readonly reject: (error: Error) => void;
}

export interface StreamEnd {
  /** grpc-status of the stream (undefined if none came: a reset or a closed connection). */
  readonly status: number | undefined;
  readonly details: string;
}

/** One ModelStreamInfer stream on `session`; infer() any number of times, then end(). */
export class GrpcH2InferStream {
  /** Responses that failed (error_message, no infer_response, unknown id, not final) and requests the close cut off. */
  errors = 0;
  /** Answers that came before the answer of an earlier request on this stream (Triton keeps them in order). */
  outOfOrder = 0;
  private readonly stream: http2.ClientHttp2Stream;
  /** Outstanding requests by id, in the order they were written (a Map keeps insertion order). */
  private readonly pending = new Map<string, Pending>();
  private nextId = 0;
  /** Bytes of a message not yet complete (a DATA chunk may end inside one). */
  private partial: Buffer | undefined;
  private status: number | undefined;
  private details = '';
  private readonly closed: Promise<StreamEnd>;

  constructor(session: http2.ClientHttp2Session, path = MODEL_STREAM_INFER_PATH) {
    this.stream = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers' });
    const takeStatus = (headers: http2.IncomingHttpHeaders) => {
      const code = headers['grpc-status'];
      if (code === undefined) return;
      this.status = Number(code);
      const message = headers['grpc-message'];
      this.details = decodeURI((Array.isArray(message) ? message[0] : message) ?? '');
    };
    this.stream.on('response', takeStatus); // a trailers-only answer carries its status here
    this.stream.on('trailers', takeStatus);
    this.stream.on('data', (chunk: Buffer) => this.received(chunk));
    this.stream.on('error', () => undefined); // a reset: reported at close, with the status (none)
    this.closed = new Promise((resolve) => {
      this.stream.on('close', () => {
        const end = { status: this.status, details: this.details || `stream closed (RST_STREAM ${this.stream.rstCode ?? 0})` };
        this.failAll(new Error(`ModelStreamInfer ended with requests outstanding: status ${end.status}: ${end.details}`));
        resolve(end);
      });
    });
  }

  /** Write one request (`body`: a serialized ModelInferRequest without id); resolves with its answer. */
  infer(body: Uint8Array): Promise<ModelInferResponseMessage> {
    const id = (this.nextId++).toString(36);
    return new Promise((resolve, reject) => {
      if (this.stream.closed || this.stream.destroyed) {
        this.errors += 1;
        reject(new Error('ModelStreamInfer stream is closed'));
        return;
      }
      this.pending.set(id, { resolve, reject });
      this.stream.write(streamRequestFrame(body, id));
    });
  }

  /** Requests written and not yet answered. */
  get outstanding(): number {
    return this.pending.size;
  }

  /** Half-close; resolves with the stream's status once the server has ended it (after answering what was sent). */
  end(): Promise<StreamEnd> {
    if (!this.stream.writableEnded) this.stream.end();
    return this.closed;
  }

  private received(chunk: Buffer): void {
    const data = this.partial ? Buffer.concat([this.partial, chunk]) : chunk;
    let offset = 0;
    while (data.length - offset >= 5) {
      const length = data.readUInt32BE(offset + 1);
      if (data.length - offset < 5 + length) break;
      this.answer(data.subarray(offset + 5, offset + 5 + length));
      offset += 5 + length;
    }
    // Copied: the chunk's memory may be a slice of a larger buffer kept alive by the view.
    this.partial = offset < data.length ? Buffer.from(data.subarray(offset)) : undefined;
  }

  private answer(bytes: Buffer): void {
    let message;
    try {
      message = deserializeStreamInferResponse(bytes);
    } catch (error) {
      this.failAll(new Error(`undecodable ModelStreamInferResponse: ${(error as Error).message}`));
      return;
    }
    const response = message.infer_response;
    const id = response?.id ?? '';
    const waiting = this.pending.get(id);
    if (!waiting) {
      this.failAll(new Error(`ModelStreamInferResponse for no outstanding request (id '${id}', error '${message.error_message}')`));
      return;
    }
    if (this.pending.keys().next().value !== id) this.outOfOrder += 1;
    this.pending.delete(id);
    if (message.error_message !== '' || !response) {
      this.errors += 1;
      waiting.reject(new Error(`ModelStreamInfer request ${id} failed: ${message.error_message || 'no infer_response'}`));
    } else if (response.parameters?.triton_final_response?.bool_param !== true) {
      this.errors += 1;
      waiting.reject(new Error(`ModelStreamInfer request ${id}: a response not flagged final (decoupled models are not benchmarked here)`));
    } else {
      waiting.resolve(response);
    }
  }

  private failAll(error: Error): void {
    for (const waiting of this.pending.values()) {
      this.errors += 1;
      waiting.reject(error);
    }
    this.pending.clear();
  }
}

/**
 * `streams` ModelStreamInfer streams over ceil(streams / streamsPerConnection) HTTP/2 connections to
 * `host:port` (stream i on connection floor(i / streamsPerConnection)), opened on first use and kept open across
 * calls; a closed loop's slot s writes on stream s % streams, so `streams` = the slots gives one request in flight
 * per stream and 1 puts every slot's request on one stream.
 */
export function streamInferCaller(host: string, port: number, streams: number, streamsPerConnection: number) {
  const sessions = Array.from({ length: Math.ceil(streams / Math.max(1, streamsPerConnection)) }, () => {
    const session = http2.connect(`http://${host}:${port}`);
    session.on('error', () => undefined); // its streams close and reject what they had outstanding
    return session;
  });
  const opened: GrpcH2InferStream[] = [];
  const streamFor = (slot: number) => {
    const index = slot % streams;
    return (opened[index] ??= new GrpcH2InferStream(sessions[Math.floor(index / Math.max(1, streamsPerConnection))]));
  };
  return {
    /** One request on the slot's stream; resolves with its (successful, final) answer. */
    call: (body: Uint8Array, slot: number): Promise<ModelInferResponseMessage> => streamFor(slot).infer(body),
    /** Errors and out-of-order answers over every stream so far. */
    counts: () => ({
      errors: opened.reduce((sum, stream) => sum + (stream?.errors ?? 0), 0),
      outOfOrder: opened.reduce((sum, stream) => sum + (stream?.outOfOrder ?? 0), 0),
    }),
    /** Half-close every stream, check each ended with OK, close the connections. */
    close: async (): Promise<void> => {
      const ends = await Promise.all(opened.filter(Boolean).map((stream) => stream.end()));
      await Promise.all(sessions.map((session) => new Promise<void>((resolve) => session.close(() => resolve()))));
      const bad = ends.find((end) => end.status !== 0);
      if (bad) throw new Error(`ModelStreamInfer ended with status ${bad.status}: ${bad.details}`);
    },
  };
}
