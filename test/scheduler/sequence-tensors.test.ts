/** The tensors the sequence batcher adds to a batch: control inputs per row and implicit state initial values. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SequenceControls } from '../../server/scheduler/sequence-controls';
import { initialState, loadStateSpecs, stateFromOutputs } from '../../server/scheduler/sequence-state';

describe('SequenceControls', () => {
  const controls = new SequenceControls(
    {
      control_input: [
        { name: 'S', control: [{ kind: 'CONTROL_SEQUENCE_START', fp32_false_true: [0.5, 2.5] }] },
        { name: 'E', control: [{ kind: 'CONTROL_SEQUENCE_END', bool_false_true: [false, true] }] },
        { name: 'R', control: [{ kind: 'CONTROL_SEQUENCE_READY', int32_false_true: [7, 9] }] },
        { name: 'C', control: [{ kind: 'CONTROL_SEQUENCE_CORRID', data_type: 'TYPE_INT32' }] },
      ],
    },
    true,
  );

  it('writes one value per row: the configured false/true values, idle rows all false, CORRID in its type', () => {
    const tensors = controls.tensors([
      { start: true, end: false, ready: true, id: 5n },
      { start: false, end: true, ready: true, id: (1n << 32n) + 3n },
      { start: true, end: true, ready: false, id: 8n },
    ]);
    const byName = Object.fromEntries(tensors.map((t) => [t.name, { datatype: t.datatype, shape: t.shape, data: Array.from(t.data as ArrayLike<number>) }]));
    expect(byName).toEqual({
      S: { datatype: 'FP32', shape: [3, 1], data: [2.5, 0.5, 0.5] },
      E: { datatype: 'BOOL', shape: [3, 1], data: [0, 1, 0] },
      R: { datatype: 'INT32', shape: [3, 1], data: [9, 9, 7] },
      C: { datatype: 'INT32', shape: [3, 1], data: [5, 3, 0] },
    });
  });

  it('refuses an id type the CORRID control cannot carry', () => {
    expect(() => controls.checkId('name', 'r1')).toThrow(
      "[request id: r1] sequence batching control 'C' data-type is 'INT32', but request CORRID has type 'BYTES'",
    );
    expect(() => controls.checkId(4n, undefined)).not.toThrow();
  });
});

describe('implicit state', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'state-'));
    fs.mkdirSync(path.join(dir, 'initial_state'));
    fs.writeFileSync(path.join(dir, 'initial_state', 'start.bin'), Buffer.from(Int32Array.of(7, -1).buffer));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('starts from initial_state data_file or zeros (variable dims as 1), and keeps a copy of the state output', async () => {
    const specs = await loadStateSpecs(
      {
        state: [
          {
            input_name: 'IN_A',
            output_name: 'OUT_A',
            data_type: 'TYPE_INT32',
            dims: [2],
            initial_state: [{ data_type: 'TYPE_INT32', dims: [2], data_file: 'start.bin', name: 'a' }],
          },
          { input_name: 'IN_B', output_name: 'OUT_B', data_type: 'TYPE_FP32', dims: [-1, 3] },
        ],
      },
      dir,
    );
    const initial = initialState(specs);
    expect([...(initial.get('IN_A')!.data as Int32Array)]).toEqual([7, -1]);
    expect(initial.get('IN_B')).toMatchObject({ datatype: 'FP32', shape: [1, 3], data: new Float32Array(3) });

    const output = Int32Array.of(1, 2);
    const next = stateFromOutputs(specs, [{ name: 'OUT_A', datatype: 'INT32', shape: [1, 2], data: output }], true);
    output[0] = 99; // the batch buffer is reused or moved: the kept state must not change with it
    expect(next.get('IN_A')).toMatchObject({ name: 'IN_A', shape: [2] });
    expect([...(next.get('IN_A')!.data as Int32Array)]).toEqual([1, 2]);
    expect(next.get('IN_B')).toBe(specs[1].initial);
  });

  it('refuses a data_file of the wrong size', async () => {
    await expect(
      loadStateSpecs(
        { state: [{ input_name: 'I', output_name: 'O', data_type: 'TYPE_INT32', dims: [3], initial_state: [{ dims: [3], data_file: 'start.bin' }] }] },
        dir,
      ),
    ).rejects.toThrow("initial_state data_file 'start.bin' holds 8 bytes, expected 12 for INT32 with 3 elements");
  });
});
