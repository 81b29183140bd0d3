// ua-parser-js 1.x ships no types; only the part we call is declared.
declare module 'ua-parser-js' {
  export class UAParser {
    constructor(ua?: string);
    getResult(): {
      browser: { name?: string };
      os: { name?: string };
      device: { type?: string };
    };
  }
}
