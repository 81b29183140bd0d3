import { z } from 'zod';
import { PRACTICE_ROLES } from './account-store.ts';
import { normaliseEmail, TOKEN_RE } from './account-token.ts';
import { passwordSchema } from './password.ts';

/** An email as typed (any case, surrounding spaces), stored and looked up normalised. */
export const emailField = z
  .string()
  .max(320)
  .transform(normaliseEmail)
  .refine((e) => /^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(e), 'an email address');

export const tokenField = z.string().regex(TOKEN_RE, 'a link token');

// Sign-in passwords are checked, not judged: any length up to the cap (the hash costs the same).
export const signInForm = z.object({
  _csrf: z.string().optional(),
  email: emailField,
  password: z.string().min(1).max(1024),
  code: z.string().max(64).default(''),
});

export const invitationForm = z.object({
  _csrf: z.string().optional(),
  token: tokenField,
  password: z.union([passwordSchema, z.literal('')]).optional(),
});

export const resetRequestForm = z.object({ _csrf: z.string().optional(), email: emailField });
export const resetForm = z.object({ _csrf: z.string().optional(), token: tokenField, password: passwordSchema });
export const codeForm = z.object({ _csrf: z.string().optional(), code: z.string().max(64) });
export const tokenQuery = z.object({ token: tokenField });

export const practiceInvitationBody = z.object({ email: emailField, role: z.enum(PRACTICE_ROLES) }).strict();
export const roleBody = z.object({ role: z.enum(PRACTICE_ROLES) }).strict();
