import * as fs from 'node:fs';
import * as path from 'node:path';
import { DATATYPES, DataType, elementCount, isDataType } from '../../core/datatypes';
import { Errors } from '../../core/errors';
import { BytesData, rawBytesOf, Tensor, typedArrayFromBytes } from '../../core/tensor';

const ALIGNMENT = 64;
const ZEROS = new Uint8Array(ALIGNMENT);

/** A tensor laid out in one of the stub's files: the control messages carry these, never tensor data. */
export interface WireTensor {
  name: string;
  datatype: DataType;
  shape: number[];
  offset: number;
  size: number;
}

/**
 * The two /dev/shm files shared with one stub. The input file is written here (execute inputs, BLS results) and
 * mapped by the stub; the output file is written by the stub (results, decoupled responses, BLS inputs) and read
 * here. Several messages may hold regions of the input file at once (an execute's inputs while BLS results go out):
 * each region lives until the stub is done with it, and the file is packed from the start whenever none is live.
 */
export class TensorFiles {
  private readonly live = new Set<number>();
  private end = 0;
  private nextRegion = 1;

  constructor(
    readonly inputFd: number,
    readonly outputFd: number,
  ) {}

  /**
   * Create the two files in `dir` (tmpfs: /dev/shm) and unlink them at once: only the open descriptors (ours and the
   * stub's) keep them, so nothing is left in `dir` whatever way either side dies.
   */
  static createUnlinked(dir: string, baseName: string): TensorFiles {
    const inputPath = path.join(dir, `${baseName}-input`);
    const outputPath = path.join(dir, `${baseName}-output`);
    const inputFd = fs.openSync(inputPath, 'w+', 0o600);
    let outputFd: number;
    try {
      outputFd = fs.openSync(outputPath, 'w+', 0o600);
    } catch (error) {
      fs.closeSync(inputFd);
      fs.rmSync(inputPath, { force: true });
      throw error;
    }
    fs.rmSync(inputPath, { force: true });
    fs.rmSync(outputPath, { force: true });
    return new TensorFiles(inputFd, outputFd);
  }

  /** Close our descriptors of both files. */
  close(): void {
    fs.closeSync(this.inputFd);
    fs.closeSync(this.outputFd);
  }

  /** Write groups of tensors into a fresh region of the input file (one writev); `end` is where the region ends. */
  write(groups: readonly (readonly Tensor[])[]): { region: number; wire: WireTensor[][]; end: number } {
    if (this.live.size === 0) this.end = 0;
    const base = this.end + ((ALIGNMENT - (this.end % ALIGNMENT)) % ALIGNMENT);
    const parts: Uint8Array[] = [];
    const wire: WireTensor[][] = [];
    let offset = base;
    for (const tensors of groups) {
      const described: WireTensor[] = [];
      for (const tensor of tensors) {
        const bytes = rawBytesOf(tensor.data);
        const padding = (ALIGNMENT - (offset % ALIGNMENT)) % ALIGNMENT;
        if (padding > 0) parts.push(ZEROS.subarray(0, padding));
        offset += padding;
        described.push({ name: tensor.name, datatype: tensor.datatype, shape: tensor.shape, offset, size: bytes.byteLength });
        if (bytes.byteLength > 0) parts.push(bytes);
        offset += bytes.byteLength;
      }
      wire.push(described);
    }
    let position = base;
    while (parts.length > 0) {
      // writev may stop early on very large batches: continue from where it stopped.
      let written = fs.writevSync(this.inputFd, parts, position);
      position += written;
      while (parts.length > 0 && written >= parts[0].byteLength) {
        written -= parts[0].byteLength;
        parts.shift();
      }
      if (written > 0) parts[0] = parts[0].subarray(written);
    }
    const region = this.nextRegion++;
    this.live.add(region);
    this.end = offset;
    return { region, wire, end: offset };
  }

  /** The stub is done with a region of the input file. */
  release(region: number): void {
    this.live.delete(region);
  }

  /** Tensors the stub laid out in the output file, read once into a fresh buffer whose views they become. */
  read(outputs: readonly WireTensor[]): Tensor[] {
    if (!Array.isArray(outputs)) throw Errors.pythonExecuteFailed('the Python stub sent a malformed tensor list');
    let start = Infinity;
    let end = 0;
    for (const output of outputs) {
      start = Math.min(start, output.offset);
      end = Math.max(end, output.offset + output.size);
    }
    if (start === Infinity) start = 0;
    const total = Math.max(0, end - start);
    const buffer = new Uint8Array(new ArrayBuffer(total));
    let done = 0;
    while (done < total) {
      const read = fs.readSync(this.outputFd, buffer, done, total - done, start + done);
      if (read === 0) throw Errors.pythonExecuteFailed('the Python stub output file is shorter than its response');
      done += read;
    }
    return outputs.map((output): Tensor => {
      const datatype: unknown = output.datatype;
      if (!isDataType(datatype)) throw Errors.pythonExecuteFailed(`output '${output.name}' has an unknown datatype '${String(datatype)}'`);
      const bytes = buffer.subarray(output.offset - start, output.offset - start + output.size);
      const count = elementCount(output.shape);
      if (datatype === 'BYTES') {
        const elements = BytesData.fromSerialized(bytes);
        if (!elements || elements.length !== count) throw Errors.outputSizeMismatch(output.name);
        return { name: output.name, datatype, shape: output.shape, data: elements };
      }
      if (count * DATATYPES[datatype].byteSize !== bytes.byteLength) throw Errors.outputSizeMismatch(output.name);
      return { name: output.name, datatype, shape: output.shape, data: typedArrayFromBytes(datatype, bytes) };
    });
  }
}
