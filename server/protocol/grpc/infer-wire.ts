/**
 * The wire (de)serializers of the inference hot path: ModelInferRequest, ModelInferResponse and
 * ModelStreamInferResponse, used by ModelInfer and ModelStreamInfer on the server and by our client.
 *
 * Why not proto-loader's: its serializers run protobufjs `fromObject` before every encode and `toObject` (with
 * `defaults`, `longs: String`, `oneofs`) after every decode, copying each message into a second object graph; on a
 * `simple` call that is a sizeable share of the frontend's own CPU. Here the same protobufjs types (loaded from the
 * same .proto files, same field names and numbers, so the bytes on the wire are the same) encode our plain messages
 * directly, and decoded messages are used as they come: protobufjs' message classes already give proto3 defaults
 * (prototype values for scalars, empty arrays and maps, null message fields) and the oneof name as a getter. Bytes
 * fields stay views into the received buffer (no copy). The one conversion left is 64-bit integers, which protobufjs
 * decodes as Long objects: they become numbers when exact, decimal strings otherwise (what the codec reads anyway).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as protobuf from 'protobufjs';
import type {
  InferInputTensorMessage,
  InferOutputTensorMessage,
  InferTensorContentsMessage,
  Int64,
  ModelInferRequestMessage,
  ModelInferResponseMessage,
  ModelStreamInferResponseMessage,
  ParameterMap,
} from './messages';
import { MODEL_CONFIG_PROTO_DIR, PROTO_DIR } from './proto';

interface InferTypes {
  readonly request: protobuf.Type;
  /** ModelInferRequest whose inputs' `contents` stay wire bytes (`contents_wire`): the server decodes them itself. */
  readonly requestLazyContents: protobuf.Type;
  readonly response: protobuf.Type;
  readonly streamResponse: protobuf.Type;
}

let types: InferTypes | undefined;

/** The three message types, from grpc_service.proto with proto field names (as proto-loader's keepCase loads them). */
function inferTypes(): InferTypes {
  if (types) return types;
  const root = loadRoot();
  const lazy = loadRoot();
  const tensor = lazy.lookupType('inference.ModelInferRequest.InferInputTensor');
  const contents = tensor.fields.contents;
  tensor.remove(contents);
  tensor.add(new protobuf.Field('contents_wire', contents.id, 'bytes'));
  lazy.resolveAll();
  types = {
    request: root.lookupType('inference.ModelInferRequest'),
    requestLazyContents: lazy.lookupType('inference.ModelInferRequest'),
    response: root.lookupType('inference.ModelInferResponse'),
    streamResponse: root.lookupType('inference.ModelStreamInferResponse'),
  };
  return types;
}

function loadRoot(): protobuf.Root {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => {
    for (const dir of [PROTO_DIR, MODEL_CONFIG_PROTO_DIR]) {
      const file = path.join(dir, target);
      if (fs.existsSync(file)) return file;
    }
    return target;
  };
  root.loadSync('grpc_service.proto', { keepCase: true });
  root.resolveAll();
  return root;
}

/** A decoded 64-bit integer (a Long, or a number without the long package): a number when exact, else a string. */
function int64Value(value: unknown): Int64 {
  if (typeof value === 'number' || typeof value === 'string') return value;
  const long = value as { toNumber(): number; toString(): string };
  const asNumber = long.toNumber();
  return Number.isSafeInteger(asNumber) ? asNumber : long.toString();
}

function int64Array(values: readonly unknown[]): Int64[] {
  const result = new Array<Int64>(values.length);
  for (let i = 0; i < values.length; i++) result[i] = int64Value(values[i]);
  return result;
}

/** int64_param / uint64_param of each decoded parameter, in place (only the member that is set). */
function normaliseParameters(map: ParameterMap | undefined): void {
  if (!map) return;
  for (const key in map) {
    const parameter = map[key];
    const choice = parameter.parameter_choice;
    if (choice === 'int64_param' || choice === 'uint64_param') parameter[choice] = int64Value(parameter[choice]);
  }
}

function normaliseContents(contents: InferTensorContentsMessage | null | undefined): void {
  if (!contents) return;
  if (contents.int64_contents && contents.int64_contents.length > 0) contents.int64_contents = int64Array(contents.int64_contents);
  if (contents.uint64_contents && contents.uint64_contents.length > 0) contents.uint64_contents = int64Array(contents.uint64_contents);
}

function normaliseTensors(tensors: readonly (InferInputTensorMessage | InferOutputTensorMessage)[]): void {
  for (const tensor of tensors) {
    tensor.shape = int64Array(tensor.shape);
    normaliseParameters(tensor.parameters);
    normaliseContents(tensor.contents);
  }
}

function normaliseResponse(message: ModelInferResponseMessage): ModelInferResponseMessage {
  normaliseParameters(message.parameters);
  normaliseTensors(message.outputs);
  return message;
}

/** A request as the server reads it: inputs' typed contents left as wire bytes (`contents_wire`). */
export function deserializeInferRequest(bytes: Buffer): ModelInferRequestMessage {
  const message = inferTypes().requestLazyContents.decode(bytes) as unknown as ModelInferRequestMessage;
  normaliseParameters(message.parameters);
  normaliseTensors(message.inputs);
  for (const output of message.outputs ?? []) normaliseParameters(output.parameters);
  return message;
}

export function serializeInferRequest(message: ModelInferRequestMessage): Buffer {
  return inferTypes().request.encode(message).finish() as Buffer;
}

export function deserializeInferResponse(bytes: Buffer): ModelInferResponseMessage {
  return normaliseResponse(inferTypes().response.decode(bytes) as unknown as ModelInferResponseMessage);
}

export function serializeInferResponse(message: ModelInferResponseMessage): Buffer {
  return inferTypes().response.encode(message).finish() as Buffer;
}

export function deserializeStreamInferResponse(bytes: Buffer): ModelStreamInferResponseMessage {
  const message = inferTypes().streamResponse.decode(bytes) as unknown as ModelStreamInferResponseMessage;
  if (message.infer_response) normaliseResponse(message.infer_response);
  return message;
}

export function serializeStreamInferResponse(message: ModelStreamInferResponseMessage): Buffer {
  return inferTypes().streamResponse.encode(message).finish() as Buffer;
}

/** The (de)serializers grpc-js reads from a method definition. */
interface MethodSerializers {
  requestSerialize: (value: never) => Buffer;
  requestDeserialize: (bytes: Buffer) => unknown;
  responseSerialize: (value: never) => Buffer;
  responseDeserialize: (bytes: Buffer) => unknown;
}

const INFER_METHODS: Readonly<Record<string, MethodSerializers>> = {
  ModelInfer: {
    requestSerialize: serializeInferRequest,
    requestDeserialize: deserializeInferRequest,
    responseSerialize: serializeInferResponse,
    responseDeserialize: deserializeInferResponse,
  },
  ModelStreamInfer: {
    requestSerialize: serializeInferRequest,
    requestDeserialize: deserializeInferRequest,
    responseSerialize: serializeStreamInferResponse,
    responseDeserialize: deserializeStreamInferResponse,
  },
};

/** A copy of the service definition whose ModelInfer and ModelStreamInfer use the serializers above. */
export function withInferWire<T extends object>(definition: T): T {
  const result: Record<string, unknown> = { ...(definition as Record<string, unknown>) };
  for (const [name, serializers] of Object.entries(INFER_METHODS)) {
    if (name in result) result[name] = { ...(result[name] as object), ...serializers };
  }
  return result as T;
}
