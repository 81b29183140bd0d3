import nodemailer from 'nodemailer';

export type MailConfig = {
  /** `smtp://user:pass@host:port` (or smtps://); unset, mail cannot be sent and links are refused. */
  smtpUrl: string | undefined;
  from: string;
};

export type Mail = { to: string; subject: string; text: string };

/** Sends account mail (invitations, password resets) over SMTP. */
export interface Mailer {
  send(mail: Mail): Promise<void>;
  close(): void;
}

export function smtpMailer(config: MailConfig): Mailer | null {
  if (!config.smtpUrl) return null;
  const transport = nodemailer.createTransport(config.smtpUrl);
  return {
    async send(mail) {
      await transport.sendMail({ from: config.from, ...mail });
    },
    close: () => transport.close(),
  };
}
