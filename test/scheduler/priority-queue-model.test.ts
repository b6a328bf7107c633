import fc from 'fast-check';
import { PriorityRequestQueue, QueueEntry, UNBOUNDED_QUEUE } from '../../server/scheduler/priority-queue';

// The queue against a plain model of Triton's order (levels most urgent first; in each, its queue then its delayed
// requests), under random pushes (levels, timeouts), takes (the head, or any entries) and expiries: its shortcuts (the
// head of a level taken off the front, no expiry work while no entry has a deadline, a lone level's array as the
// service order) must keep that order.

type Op =
  | { kind: 'push'; priority: number; timeoutUs: number }
  | { kind: 'takeHead'; count: number }
  | { kind: 'takeSome'; picks: number[] }
  | { kind: 'expire'; advanceNs: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('push' as const), priority: fc.integer({ min: 0, max: 2 }), timeoutUs: fc.constantFrom(0, 0, 5, 20) }),
  fc.record({ kind: fc.constant('takeHead' as const), count: fc.integer({ min: 1, max: 3 }) }),
  fc.record({ kind: fc.constant('takeSome' as const), picks: fc.array(fc.nat(), { minLength: 1, maxLength: 3 }) }),
  fc.record({ kind: fc.constant('expire' as const), advanceNs: fc.integer({ min: 0, max: 15_000 }) }),
);

/** The reference: every entry in one list, service order computed from scratch each time. */
interface ModelEntry {
  id: number;
  level: number;
  deadline?: bigint;
  delayed: boolean;
  seq: number;
}

describe('PriorityRequestQueue against a plain model', () => {
  for (const [name, levels, action] of [
    ['one level, REJECT', 0, 'REJECT'],
    ['one level, DELAY', 0, 'DELAY'],
    ['two levels, DELAY', 2, 'DELAY'],
  ] as const) {
    it(`keeps the model's order, size and expiries (${name})`, () => {
      fc.assert(
        fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
          const queuePolicy = { ...UNBOUNDED_QUEUE, timeoutAction: action, allowTimeoutOverride: true };
          const queue = new PriorityRequestQueue<number>({ priorityLevels: levels, defaultPriorityLevel: levels === 0 ? 0 : 1, defaultQueuePolicy: queuePolicy, levelPolicies: new Map() });
          let model: ModelEntry[] = [];
          let now = 0n;
          let nextId = 0;
          let seq = 0;
          // Triton's order: most urgent level first; in a level its queue, then its delayed requests, each FIFO.
          const modelOrder = () => [...model].sort((a, b) => a.level - b.level || Number(a.delayed) - Number(b.delayed) || a.seq - b.seq);
          const entries = () => [...queue.inOrder()] as QueueEntry<number>[];
          for (const step of ops) {
            if (step.kind === 'push') {
              const id = nextId++;
              const entry = queue.push(id, levels === 0 ? undefined : step.priority, step.timeoutUs, now);
              model.push({ id, level: entry.level, deadline: entry.deadline, delayed: false, seq: seq++ });
            } else if (step.kind === 'takeHead' || step.kind === 'takeSome') {
              const order = entries();
              const taken = step.kind === 'takeHead' ? order.slice(0, step.count) : [...new Set(step.picks.map((i) => order[i % Math.max(order.length, 1)]))].filter(Boolean);
              if (taken.length === 0) continue;
              queue.remove(taken);
              const ids = new Set(taken.map((entry) => entry.item));
              model = model.filter((entry) => !ids.has(entry.id));
            } else {
              now += BigInt(step.advanceNs);
              const { rejected } = queue.expire(now);
              const due = model.filter((entry) => !entry.delayed && entry.deadline !== undefined && entry.deadline <= now);
              if (action === 'REJECT') {
                expect(rejected.map((entry) => entry.item).sort((a, b) => a - b)).toEqual(due.map((entry) => entry.id).sort((a, b) => a - b));
                model = model.filter((entry) => !due.includes(entry));
              } else {
                expect(rejected).toEqual([]);
                // Moved behind the rest of their level, keeping their order.
                for (const entry of [...due].sort((a, b) => a.seq - b.seq)) {
                  entry.delayed = true;
                  entry.seq = seq++;
                }
              }
            }
            expect(entries().map((entry) => entry.item)).toEqual(modelOrder().map((entry) => entry.id));
            expect(queue.size).toBe(model.length);
          }
        }),
        { numRuns: 300 },
      );
    });
  }
});
