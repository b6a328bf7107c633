/** A stream's answers to non-decoupled requests leave in request order, whatever order the requests finish in. */
import { InOrderWriter } from '../../server/protocol/grpc/stream-infer';

it('holds a later request\'s writes until the earlier requests have ended, then sends them in order', () => {
  const writer = new InOrderWriter();
  const sent: string[] = [];
  const a = writer.open();
  const b = writer.open();
  const c = writer.open();
  writer.emit(c, () => sent.push('c'));
  writer.close(c);
  writer.emit(b, () => sent.push('b'));
  expect(sent).toEqual([]); // a is still running
  writer.emit(a, () => sent.push('a'));
  expect(sent).toEqual(['a']); // the head writes at once
  writer.close(a);
  expect(sent).toEqual(['a', 'b']); // b is head now but still running: c waits
  writer.close(b);
  expect(sent).toEqual(['a', 'b', 'c']);
  const d = writer.open();
  writer.emit(d, () => sent.push('d')); // nothing before it: at once
  expect(sent).toEqual(['a', 'b', 'c', 'd']);
});
