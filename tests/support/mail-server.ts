// A real SMTP server (smtp-server) on a loopback port for the account tests; what arrives is parsed with mailparser.
import type { AddressInfo } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';

export type ReceivedMail = { to: string; subject: string; text: string; from: string };

export type MailServer = {
  /** `smtp://127.0.0.1:<port>` for SMTP_URL. */
  url: string;
  received: ReceivedMail[];
  /** The next mail to `to` that arrived after the last one taken for it (waits up to 10 s). */
  next(to: string): Promise<ReceivedMail>;
  close(): Promise<void>;
};

const addressesOf = (mail: ParsedMail): string[] =>
  [mail.to ?? []].flat().flatMap((a) => a.value.map((v) => (v.address ?? '').toLowerCase()));

export async function startMailServer(): Promise<MailServer> {
  const received: ReceivedMail[] = [];
  const taken = new Set<ReceivedMail>();
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, _session, callback) {
      simpleParser(stream)
        .then((mail) => {
          for (const to of addressesOf(mail))
            received.push({ to, subject: mail.subject ?? '', text: mail.text ?? '', from: mail.from?.text ?? '' });
          callback();
        })
        .catch((error: Error) => callback(error));
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.server.address() as AddressInfo;
  return {
    url: `smtp://127.0.0.1:${port}`,
    received,
    async next(to) {
      const deadline = Date.now() + 10_000;
      for (;;) {
        const mail = received.find((m) => m.to === to.toLowerCase() && !taken.has(m));
        if (mail) {
          taken.add(mail);
          return mail;
        }
        if (Date.now() > deadline) throw new Error(`no mail to ${to} within 10 s`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The first link in a mail's text that starts with `base` (the reporter's public URL). */
export function linkIn(mail: ReceivedMail, base: string): URL {
  const found = mail.text.split(/\s+/).find((w) => w.startsWith(base));
  if (!found) throw new Error(`no link to ${base} in: ${mail.text}`);
  return new URL(found);
}
