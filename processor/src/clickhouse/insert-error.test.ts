import { describe, expect, it } from 'vitest';
import { BlockEncodeError, classifyInsertError, clickHouseErrorCode, InsertError } from './insert-error.ts';

const answer = (status: number, body: string) =>
  new InsertError(`ClickHouse insert failed (${status}): ${body}`, status, clickHouseErrorCode(null, body));

describe('clickHouseErrorCode', () => {
  it('reads the code from the header, or from the body of 18.16 and of modern servers', () => {
    expect(clickHouseErrorCode('252', 'whatever')).toBe(252);
    expect(
      clickHouseErrorCode(
        null,
        'Code: 27, e.displayText() = DB::Exception: Cannot parse input, e.what() = DB::Exception',
      ),
    ).toBe(27);
    expect(clickHouseErrorCode(null, 'Code: 241. DB::Exception: Memory limit (total) exceeded')).toBe(241);
    expect(clickHouseErrorCode(null, '<html>502 Bad Gateway</html>')).toBeNull();
    expect(clickHouseErrorCode('x', '')).toBeNull();
  });
});

describe('classifyInsertError', () => {
  it('retries what the server or the network may get over', () => {
    for (const body of [
      'Code: 252, e.displayText() = DB::Exception: Too many parts (300). Merges are processing significantly slower than inserts.',
      'Code: 241, e.displayText() = DB::Exception: Memory limit (for query) exceeded',
      'Code: 159, e.displayText() = DB::Exception: Timeout exceeded: elapsed 20 seconds',
      'Code: 210, e.displayText() = DB::NetException: Connection refused',
      'Code: 216, e.displayText() = DB::Exception: Query with id = x is already running.',
      // Not caused by the rows: a wrong schema must stall the pipeline rather than dead-letter everything.
      "Code: 60, e.displayText() = DB::Exception: Table t.rollup_ingest doesn't exist.",
      '<html>503 Service Unavailable</html>',
    ]) {
      expect(classifyInsertError(answer(500, body)).kind, body).toBe('transient');
    }
    const refused = Object.assign(new TypeError('fetch failed'), {
      cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8123'), { code: 'ECONNREFUSED' }),
    });
    expect(classifyInsertError(refused)).toEqual({ kind: 'transient', reason: 'fetch failed (ECONNREFUSED)' });
    expect(classifyInsertError(new DOMException('The operation was aborted due to timeout', 'TimeoutError')).kind).toBe(
      'transient',
    );
    expect(classifyInsertError('odd').kind).toBe('transient');
  });

  it('gives up on rows ClickHouse cannot read or store, and on rows the encoder cannot write', () => {
    expect(classifyInsertError(answer(500, 'Code: 27, e.displayText() = DB::Exception: Cannot parse input'))).toEqual({
      kind: 'permanent',
      reason: 'ClickHouse refused the rows: CANNOT_PARSE_INPUT_ASSERTION_FAILED (27)',
    });
    for (const code of [6, 33, 38, 53, 69, 72, 321])
      expect(classifyInsertError(answer(500, `Code: ${code}. DB::Exception: x`)).kind).toBe('permanent');
    expect(classifyInsertError(new BlockEncodeError('70000 is not an integer in 0..65535'))).toEqual({
      kind: 'permanent',
      reason: 'cannot encode rows: 70000 is not an integer in 0..65535',
    });
  });
});
