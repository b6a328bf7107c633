import { configToKserve } from '../config/datatypes';
import type { ModelSequenceBatching, SequenceControlKind } from '../config/model-config';
import type { DataType } from '../core/datatypes';
import { Errors } from '../core/errors';
import type { CorrelationId } from '../core/sequence-parameters';
import { BytesData, type Tensor } from '../core/tensor';

/** What one batch row tells the model through the control inputs. */
export interface RowSignals {
  readonly start: boolean;
  readonly end: boolean;
  /** false for an idle slot padding a direct batch (Triton's "not ready" row). */
  readonly ready: boolean;
  readonly id: CorrelationId;
}

/** One control input of config.sequence_batching.control_input, resolved. */
interface ControlSpec {
  readonly name: string;
  readonly kind: SequenceControlKind;
  readonly datatype: DataType;
  /** [false value, true value] for START/END/READY. */
  readonly falseTrue: readonly [number, number];
}

/** The control tensors the sequence batcher feeds the model, built per batch from each row's signals. */
export class SequenceControls {
  private readonly specs: ControlSpec[];

  constructor(
    sequenceBatching: ModelSequenceBatching,
    /** Control tensors get a leading batch dimension when the model batches. */
    private readonly batched: boolean,
  ) {
    this.specs = (sequenceBatching.control_input ?? []).flatMap((input) =>
      (input.control ?? []).map((control): ControlSpec => {
        const kind = control.kind ?? 'CONTROL_SEQUENCE_START';
        if (kind === 'CONTROL_SEQUENCE_CORRID') {
          return { name: input.name ?? '', kind, datatype: configToKserve(control.data_type ?? 'TYPE_UINT64'), falseTrue: [0, 1] };
        }
        if (control.fp32_false_true?.length === 2) {
          return { name: input.name ?? '', kind, datatype: 'FP32', falseTrue: [control.fp32_false_true[0], control.fp32_false_true[1]] };
        }
        if (control.bool_false_true?.length === 2) {
          const [f, t] = control.bool_false_true;
          return { name: input.name ?? '', kind, datatype: 'BOOL', falseTrue: [f ? 1 : 0, t ? 1 : 0] };
        }
        const values = control.int32_false_true ?? [0, 1];
        return { name: input.name ?? '', kind, datatype: 'INT32', falseTrue: [values[0] ?? 0, values[1] ?? 1] };
      }),
    );
  }

  /** Refuse an id whose type the CORRID control cannot carry (Triton: a string id needs TYPE_STRING and back). */
  checkId(id: CorrelationId, requestId: string | undefined): void {
    const corrid = this.specs.find((spec) => spec.kind === 'CONTROL_SEQUENCE_CORRID');
    if (!corrid) return;
    const got = typeof id === 'string' ? 'BYTES' : 'UINT64';
    const stringControl = corrid.datatype === 'BYTES';
    if (stringControl !== (got === 'BYTES')) throw Errors.sequenceIdTypeMismatch(requestId, corrid.name, corrid.datatype, got);
  }

  /** One tensor per control input, one value per row. */
  tensors(rows: readonly RowSignals[]): Tensor[] {
    const shape = this.batched ? [rows.length, 1] : [1];
    return this.specs.map((spec) => ({ name: spec.name, datatype: spec.datatype, shape, data: this.values(spec, rows) }));
  }

  private values(spec: ControlSpec, rows: readonly RowSignals[]): Tensor['data'] {
    if (spec.kind === 'CONTROL_SEQUENCE_CORRID') return corridValues(spec.datatype, rows);
    const on = (row: RowSignals) =>
      spec.kind === 'CONTROL_SEQUENCE_START' ? row.ready && row.start : spec.kind === 'CONTROL_SEQUENCE_END' ? row.ready && row.end : row.ready;
    const values = rows.map((row) => spec.falseTrue[on(row) ? 1 : 0]);
    if (spec.datatype === 'FP32') return Float32Array.from(values);
    if (spec.datatype === 'BOOL') return Uint8Array.from(values);
    return Int32Array.from(values);
  }
}

/** CORRID values: the id in the control's type (idle rows carry 0 or ''), as Triton writes it into its buffer. */
function corridValues(datatype: DataType, rows: readonly RowSignals[]): Tensor['data'] {
  const encoder = new TextEncoder();
  const numeric = (row: RowSignals) => (row.ready && typeof row.id === 'bigint' ? row.id : 0n);
  switch (datatype) {
    case 'BYTES':
      return BytesData.fromElements(rows.map((row) => encoder.encode(row.ready && typeof row.id === 'string' ? row.id : '')));
    case 'INT64':
      return BigInt64Array.from(rows.map((row) => BigInt.asIntN(64, numeric(row))));
    case 'UINT32':
      return Uint32Array.from(rows.map((row) => Number(BigInt.asUintN(32, numeric(row)))));
    case 'INT32':
      return Int32Array.from(rows.map((row) => Number(BigInt.asIntN(32, numeric(row)))));
    default:
      return BigUint64Array.from(rows.map(numeric));
  }
}
