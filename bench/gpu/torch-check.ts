/**
 * The GPU proof's Python-backend part: the torch_mlp example (examples/python_models/torch_mlp, PyTorch on the
 * instance's GPU for KIND_GPU when torch sees CUDA) served twice by the server, as torch_gpu (KIND_GPU) and torch_cpu
 * (KIND_CPU); the same request to both must give the same logits within tolerance, and the models' own log lines
 * must say which device each one ran on (`torch_mlp on cuda:0` / `on cpu`).
 * check.ts runs it when python3 on the machine imports torch (the GPU machines have torch with CUDA 13).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { httpRequest } from '../lib/processes';
import { compareOutputs, type Comparison } from './check';

export const TORCH_INPUT = 784;
export const TORCH_CLASSES = 10;
const TORCH_BATCH = 4;

export interface TorchAvailability {
  readonly ok: boolean;
  readonly torch?: string;
  readonly cuda?: boolean;
  readonly error?: string;
}

/** Does `python` import torch and numpy, and does torch see CUDA? */
export function torchAvailability(python = 'python3'): TorchAvailability {
  const probe = spawnSync(python, ['-c', 'import numpy, torch; print(torch.__version__, torch.cuda.is_available())'], {
    encoding: 'utf8',
    timeout: 120_000,
  });
  if (probe.status !== 0) {
    return { ok: false, error: (probe.stderr || probe.error?.message || `exit ${probe.status}`).trim().split('\n').pop() };
  }
  const [version, cuda] = probe.stdout.trim().split(/\s+/);
  return { ok: true, torch: version, cuda: cuda === 'True' };
}

function torchConfig(name: string, kind: 'KIND_GPU' | 'KIND_CPU'): string {
  return (
    `name: "${name}"\nbackend: "python"\nmax_batch_size: 64\n` +
    `input [ { name: "INPUT0", data_type: TYPE_FP32, dims: [ ${TORCH_INPUT} ] } ]\n` +
    `output [ { name: "OUTPUT0", data_type: TYPE_FP32, dims: [ ${TORCH_CLASSES} ] } ]\n` +
    `instance_group [ { count: 1, kind: ${kind} } ]\n` +
    `parameters { key: "TORCH_NUM_THREADS" value: { string_value: "1" } }\n`
  );
}

/** torch_gpu (only when `gpu`) and torch_cpu in `dir`, both running `modelPy`; returns their names. */
export function writeTorchModels(dir: string, modelPy: string, gpu: boolean): string[] {
  const models: Array<[string, 'KIND_GPU' | 'KIND_CPU']> = [['torch_cpu', 'KIND_CPU']];
  if (gpu) models.unshift(['torch_gpu', 'KIND_GPU']);
  for (const [name, kind] of models) {
    fs.mkdirSync(path.join(dir, name, '1'), { recursive: true });
    fs.writeFileSync(path.join(dir, name, 'config.pbtxt'), torchConfig(name, kind));
    fs.copyFileSync(modelPy, path.join(dir, name, '1', 'model.py'));
  }
  return models.map(([name]) => name);
}

/** A fixed input, the same for every model. */
export function torchInput(batch = TORCH_BATCH): number[] {
  return Array.from({ length: batch * TORCH_INPUT }, (_, i) => Math.sin(i * 0.37) * 0.5);
}

/** The devices the models reported loading on, from the server's log (`torch_mlp on cuda:0 (torch ...)`). */
export function torchDevices(serverOutput: string): string[] {
  return [...serverOutput.matchAll(/torch_mlp on (cuda:\d+|cpu) \(torch/g)].map((m) => m[1]);
}

export interface TorchResult {
  readonly models: string[];
  readonly devices: string[];
  readonly comparison?: Comparison;
  readonly errors: string[];
}

async function inferLogits(port: number, model: string): Promise<number[]> {
  const body = Buffer.from(JSON.stringify({
    inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [TORCH_BATCH, TORCH_INPUT], data: torchInput() }],
  }));
  const response = await httpRequest(port, 'POST', `/v2/models/${model}/infer`, { 'content-type': 'application/json' }, body, 120_000);
  const text = response.body.toString('utf8');
  if (response.status !== 200) throw new Error(`${model} infer answered ${response.status}: ${text.slice(0, 300)}`);
  const output = (JSON.parse(text) as { outputs: Array<{ name: string; data: number[] }> }).outputs.find((o) => o.name === 'OUTPUT0');
  if (!output) throw new Error(`${model}: no OUTPUT0 in ${text.slice(0, 300)}`);
  return output.data;
}

/** Infers on each model and compares torch_gpu with torch_cpu; errors are collected, not thrown. */
export async function checkTorchModels(port: number, models: string[], serverOutput: () => string): Promise<TorchResult> {
  const errors: string[] = [];
  // Read before the requests: the server's output keeps only its last lines.
  const devices = torchDevices(serverOutput());
  const logits = new Map<string, number[]>();
  for (const model of models) {
    try {
      logits.set(model, await inferLogits(port, model));
    } catch (error) {
      errors.push(error instanceof Error ? error.message : String(error));
    }
  }
  const gpu = logits.get('torch_gpu');
  const cpu = logits.get('torch_cpu');
  const comparison = gpu && cpu ? compareOutputs(gpu, cpu) : undefined;
  if (comparison && !comparison.pass) errors.push('torch_gpu output differs from torch_cpu');
  if (models.includes('torch_gpu') && !devices.some((d) => d.startsWith('cuda'))) {
    errors.push(`torch_gpu did not report a CUDA device (devices logged: ${devices.join(', ') || 'none'})`);
  }
  return { models, devices, comparison, errors };
}
