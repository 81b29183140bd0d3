import { isbot } from 'isbot';

const AUTOMATION = /headless|phantomjs|puppeteer|playwright|selenium|webdriver|electron|python-|curl\/|wget\/|go-http-client|okhttp|java\//i;

/**
 * Known crawlers (isbot), automation and headless browsers, and clients that lack what
 * every real browser sends (a user agent of some length, an Accept-Language header):
 * scripts run from data centres usually omit it.
 */
export function isBot(userAgent: string | undefined, acceptLanguage: string | undefined): boolean {
  if (!userAgent || userAgent.length < 20) return true;
  if (isbot(userAgent) || AUTOMATION.test(userAgent)) return true;
  return !acceptLanguage;
}
