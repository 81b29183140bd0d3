// The part of autocannon's API the overload scenario uses (the package ships no types).
declare module 'autocannon' {
  namespace autocannon {
    type Options = {
      url: string;
      method?: string;
      headers?: Record<string, string>;
      body?: string;
      connections?: number;
      amount?: number;
      duration?: number;
      overallRate?: number;
      timeout?: number;
    };
    type Result = {
      duration: number;
      errors: number;
      timeouts: number;
      requests: { total: number };
      statusCodeStats: Record<string, { count: number }>;
    };
  }
  function autocannon(options: autocannon.Options): Promise<autocannon.Result>;
  export default autocannon;
}
