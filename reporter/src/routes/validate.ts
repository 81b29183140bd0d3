import { z } from 'zod';
import { ApiError, ErrorCode } from '@confidant/shared';

/** Parses request input with zod; the first problem becomes a 400 naming the parameter. */
export function parseInput<S extends z.ZodType>(schema: S, data: unknown, where: string): z.output<S> {
  const result = schema.safeParse(data ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const name = issue.path.length ? issue.path.join('.') : where;
  throw new ApiError(400, ErrorCode.invalidParameter, `${where} ${name}: ${issue.message}`);
}

/** OpenAPI description of a zod schema (for /docs only; validation is done by zod itself). */
export const openApi = (schema: z.ZodType): Record<string, unknown> => {
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<
    string,
    unknown
  >;
  return rest;
};

export const idParam = z
  .object({ id: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'an id of lowercase letters, digits and -') })
  .strict();
