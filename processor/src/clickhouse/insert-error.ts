/**
 * Why a rollup insert failed, and whether trying again can help. Transient failures (network,
 * timeouts, an overloaded or restarting server) are retried with backoff while the partition is
 * paused. Permanent ones are caused by the rows themselves: the same block will be refused every
 * time, so the batch is bisected to find the messages that carry them. Anything not known to be
 * caused by the data counts as transient: a broken server must stall the pipeline, not dead-letter it.
 */
export type InsertFailure = { kind: 'transient' | 'permanent'; reason: string };

/** Thrown for a ClickHouse answer other than 2xx; `code` is the ClickHouse error code when the answer names one. */
export class InsertError extends Error {
  override name = 'InsertError';

  constructor(
    message: string,
    readonly status: number,
    readonly code: number | null,
  ) {
    super(message);
  }
}

/** ClickHouse error codes that mean "these rows cannot be read or stored", whichever server gets them. */
const PERMANENT_CODES: ReadonlyMap<number, string> = new Map([
  [6, 'CANNOT_PARSE_TEXT'],
  [26, 'CANNOT_PARSE_QUOTED_STRING'],
  [27, 'CANNOT_PARSE_INPUT_ASSERTION_FAILED'],
  [32, 'ATTEMPT_TO_READ_AFTER_EOF'],
  [33, 'CANNOT_READ_ALL_DATA'],
  [38, 'CANNOT_PARSE_DATE'],
  [41, 'CANNOT_PARSE_DATETIME'],
  [53, 'TYPE_MISMATCH'],
  [69, 'ARGUMENT_OUT_OF_BOUND'],
  [70, 'CANNOT_CONVERT_TYPE'],
  [72, 'CANNOT_PARSE_NUMBER'],
  [117, 'INCORRECT_DATA'],
  [128, 'TOO_LARGE_ARRAY_SIZE'],
  [131, 'TOO_LARGE_STRING_SIZE'],
  [321, 'VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE'],
]);

/** The error code of a ClickHouse error answer: the header of modern servers, else the body (`Code: 27, e.displayText() = …` on 18.16, `Code: 27. DB::Exception: …` later). */
export function clickHouseErrorCode(header: string | null, body: string): number | null {
  const code = header ?? /^Code: (\d+)[.,]/.exec(body.trimStart())?.[1];
  return code === undefined || !/^\d+$/.test(code) ? null : Number(code);
}

/** An error thrown by the local Native encoder: the rows cannot even be written. */
export class BlockEncodeError extends Error {
  override name = 'BlockEncodeError';
}

export function classifyInsertError(error: unknown): InsertFailure {
  if (error instanceof BlockEncodeError) return { kind: 'permanent', reason: `cannot encode rows: ${error.message}` };
  if (error instanceof InsertError) {
    const name = error.code === null ? undefined : PERMANENT_CODES.get(error.code);
    if (name !== undefined)
      return { kind: 'permanent', reason: `ClickHouse refused the rows: ${name} (${error.code})` };
    return { kind: 'transient', reason: error.message };
  }
  // fetch's TypeError('fetch failed') with a cause (ECONNREFUSED, ECONNRESET, …), the timeout's TimeoutError, anything unforeseen.
  const cause = (error as { cause?: { code?: unknown } } | null)?.cause?.code;
  return {
    kind: 'transient',
    reason: `${error instanceof Error ? error.message : String(error)}${typeof cause === 'string' ? ` (${cause})` : ''}`,
  };
}
