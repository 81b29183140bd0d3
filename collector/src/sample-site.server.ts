import { buildSampleSite } from './sample-site.app.ts';
import { loadSampleSiteConfig } from './sample-site.config.ts';

const config = loadSampleSiteConfig();
const app = buildSampleSite(config);
await app.listen({ port: config.port, host: config.host });
console.log(
  `sample practice site on http://${config.host}:${config.port}/ (collector ${config.collectorUrl}, site ${config.siteKey})`,
);

const stop = () => void app.close().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
