import { z } from 'zod';

/** OpenAPI description of a zod schema (for /docs only; inputs are parsed by zod with `parseInput`). */
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
