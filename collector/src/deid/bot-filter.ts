import { isbot } from 'isbot';
import { BoundedCache } from './bounded-cache.ts';

const AUTOMATION =
  /headless|phantomjs|puppeteer|playwright|selenium|webdriver|electron|python-|curl\/|wget\/|go-http-client|okhttp|java\//i;

/**
 * Known crawlers (isbot), automation and headless browsers, and clients that lack what
 * every real browser sends (a user agent of some length, an Accept-Language header):
 * scripts run from data centres usually omit it.
 */
export function isBot(userAgent: string | undefined, acceptLanguage: string | undefined): boolean {
  if (!userAgent || userAgent.length < 20) return true;
  if (botAgents.through(userAgent, isBotAgent)) return true;
  return !acceptLanguage;
}

/** isbot's pattern is large; verdicts per user-agent string are kept in process memory only. */
const botAgents = new BoundedCache<string, boolean>(5_000);
const isBotAgent = (userAgent: string): boolean => isbot(userAgent) || AUTOMATION.test(userAgent);
