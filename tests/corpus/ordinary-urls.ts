import { ORIGIN } from './corpus-item.ts';

/**
 * Ordinary clinic URLs, as practice websites have them, for the false-positive rate: each keeps
 * its path and its kept parameters, except where the corpus practice's page classes and path
 * templates say otherwise (`page`, `countOnly`). Any other change is a false positive.
 */
export type OrdinaryUrl = {
  id: string;
  url: string;
  page: string;
  countOnly: boolean;
  utmSource: string | null;
  utmMedium: string | null;
  utmCampaign: string | null;
};

const SERVICES = [
  'primary-care',
  'family-medicine',
  'internal-medicine',
  'cardiology',
  'dermatology',
  'endocrinology',
  'gastroenterology',
  'obstetrics-gynecology',
  'orthopedics',
  'physical-therapy',
  'sports-medicine',
  'urgent-care',
  'womens-health',
  'mens-health',
  'sleep-medicine',
  'allergy-immunology',
  'behavioral-health',
  'nutrition-counseling',
  'diabetes-education',
  'weight-management',
  'travel-medicine',
  'annual-physicals',
  'flu-shots',
  'covid-19-vaccines',
  'lab-services',
  'x-ray-imaging',
  'ultrasound',
  'mammography',
  'colonoscopy',
  'telehealth',
];

const SPECIALTIES = [
  'cardiology',
  'neurology',
  'oncology',
  'ophthalmology',
  'otolaryngology-ent',
  'podiatry',
  'pulmonology',
  'rheumatology',
  'urology',
  'nephrology',
  'audiology',
  'chiropractic',
];

/** Provider profiles: the corpus practice's template turns them into `/providers/:slug`. */
const PROVIDERS = [
  'dr-sarah-chen-md',
  'dr-michael-okafor',
  'dr-anita-patel-do',
  'dr-james-oconnor',
  'maria-lopez-np',
  'dr-david-kim',
  'dr-emily-johnson',
  'thomas-mueller-pa-c',
  'dr-fatima-haddad',
  'dr-robert-williams-jr',
];

const LOCATIONS = [
  'downtown',
  'north-campus',
  'springfield-main-street',
  'riverside',
  'westlake-medical-plaza',
  'oak-park',
  'eastside-family-clinic',
  'lakeview',
  'university-district',
  'airport-road',
  'suite-200-medical-arts-building',
  'route-9-urgent-care',
];

const BLOG = [
  '/blog/2024/03/flu-season',
  '/blog/2024/03/15/spring-allergies-what-to-know',
  '/blog/2023/11/07/managing-diabetes-during-the-holidays',
  '/blog/2023/10/breast-cancer-awareness-month',
  '/blog/2024/01/new-year-healthy-habits',
  '/blog/2022/06/sun-safety-tips',
  '/blog/2024/02/heart-health-month',
  '/blog/2021/09/back-to-school-physicals',
  '/blog/2024/05/mental-health-awareness',
  '/blog/2023/08/staying-hydrated-in-summer',
  '/blog/flu-season-2024',
  '/blog/covid-19-booster-faq',
  '/blog/what-is-a-normal-blood-pressure',
  '/blog/10-tips-for-better-sleep',
  '/blog/top-5-questions-about-vaccines',
  '/blog/understanding-your-cholesterol-numbers',
  '/blog/when-to-go-to-urgent-care-vs-the-er',
  '/blog/how-to-prepare-for-your-annual-physical',
  '/blog/type-2-diabetes-prevention',
  '/blog/rsv-in-adults',
  '/blog/page/2',
  '/blog/page/14',
  '/blog/category/nutrition',
  '/blog/category/womens-health',
  '/blog/tag/vaccines',
  '/blog/author/clinic-team',
  '/news/2024/clinic-opens-new-location',
  '/news/2023/12/holiday-hours',
  '/news/press-releases/2024-community-health-award',
  '/news/we-are-now-accepting-new-patients',
  '/events/2024/06/health-fair',
  '/events/free-blood-pressure-screening',
  '/events/diabetes-support-group',
  '/events/cpr-class-saturday',
  '/newsletter/2024-spring',
  '/newsletter/archive',
  '/podcast/episode-12-healthy-aging',
  '/videos/knee-replacement-recovery',
  '/blog/2020/04/03/telehealth-visits-now-available',
  '/blog/2019/12/winter-wellness',
];

const INSURANCE = [
  '/insurance',
  '/insurance/accepted-plans',
  '/insurance/aetna',
  '/insurance/blue-cross-blue-shield',
  '/insurance/cigna',
  '/insurance/unitedhealthcare',
  '/insurance/medicare',
  '/insurance/medicaid',
  '/insurance/humana',
  '/insurance/tricare',
  '/billing',
  '/billing/pay-my-bill',
  '/billing/financial-assistance',
  '/billing/price-transparency',
  '/billing/good-faith-estimate',
  '/billing/faq',
];

const CAREERS = [
  '/careers',
  '/careers/registered-nurse',
  '/careers/medical-assistant',
  '/careers/front-desk-coordinator',
  '/careers/physician-assistant-family-medicine',
  '/careers/benefits',
  '/careers/internships',
  '/careers/apply',
  '/careers/jobs/lpn-part-time',
  '/careers/jobs/billing-specialist',
];

const RESOURCES = [
  '/patients',
  '/patients/new-patients',
  '/patients/what-to-bring',
  '/patients/patient-rights',
  '/patients/hipaa-notice-of-privacy-practices',
  '/patients/faq',
  '/patients/after-hours-care',
  '/patients/prescription-refills',
  '/patients/medical-records-request',
  '/patients/interpreter-services',
  '/resources/health-library',
  '/resources/health-library/asthma',
  '/resources/health-library/high-blood-pressure',
  '/resources/health-library/migraine',
  '/resources/downloads',
  '/resources/vaccine-schedule-adults',
  '/resources/covid-19',
  '/resources/community-links',
  '/conditions/asthma',
  '/conditions/atrial-fibrillation',
  '/conditions/eczema',
  '/conditions/hypothyroidism',
  '/conditions/osteoarthritis',
  '/conditions/long-covid',
  '/treatments/botox',
  '/treatments/joint-injections',
  '/treatments/allergy-shots',
  '/tests/a1c-test',
  '/tests/lipid-panel',
  '/tests/sleep-study',
];

const GENERAL = [
  '/',
  '/about',
  '/about/mission',
  '/about/history',
  '/about/leadership',
  '/about/awards',
  '/about/community-benefit',
  '/team',
  '/our-doctors',
  '/contact-us',
  '/hours',
  '/directions',
  '/parking',
  '/privacy-policy',
  '/terms-of-use',
  '/accessibility',
  '/non-discrimination-notice',
  '/sitemap',
  '/search',
  '/es',
  '/es/servicios',
  '/es/seguro-medico',
  '/zh/about',
  '/fr/services/cardiologie',
  '/de/leistungen/kardiologie',
  '/testimonials',
  '/donate',
  '/volunteer',
  '/covid-19',
  '/covid-19/testing-locations',
  '/thank-you',
  '/404',
  '/index.html',
  '/services.php',
  '/wp/2024/03/open-house',
];

/** Pages the practice's page classes handle: expected as their class, not their path. */
const CLASSED: Array<[string, string]> = [
  ['/portal', 'patient-portal'],
  ['/portal/messages', 'patient-portal'],
  ['/appointments', 'appointments'],
  ['/appointments/new-patient', 'appointments'],
  ['/booking/select-provider', 'appointments'],
  ['/symptom-checker', 'symptom-checker'],
  ['/forms/new-patient-registration', 'forms'],
  ['/forms/medical-history.pdf', 'forms'],
  ['/patient-forms', 'forms'],
  ['/pediatrics', 'children'],
  ['/pediatrics/well-child-visits', 'children'],
  ['/kids/vaccines', 'children'],
  ['/teen-health/sports-physicals', 'children'],
];

/** Campaign parameters as marketing tools write them. */
const CAMPAIGNS: Array<[string, string | null, string | null, string | null]> = [
  ['utm_source=google&utm_medium=cpc&utm_campaign=flu-shots', 'google', 'cpc', 'flu-shots'],
  ['utm_source=facebook&utm_medium=social&utm_campaign=spring-checkup', 'facebook', 'social', 'spring-checkup'],
  [
    'utm_source=newsletter&utm_medium=email&utm_campaign=2024-03-newsletter',
    'newsletter',
    'email',
    '2024-03-newsletter',
  ],
  ['utm_source=bing&utm_medium=cpc', 'bing', 'cpc', null],
  ['utm_source=yelp&utm_medium=referral', 'yelp', 'referral', null],
  ['utm_source=gmb&utm_medium=organic&utm_campaign=local', 'gmb', 'organic', 'local'],
  [
    'utm_source=instagram&utm_medium=paid_social&utm_campaign=mammogram_month',
    'instagram',
    'paid_social',
    'mammogram_month',
  ],
  ['utm_source=mailchimp&utm_medium=email&utm_campaign=fall_2024', 'mailchimp', 'email', 'fall_2024'],
  ['ref=healthgrades', 'healthgrades', null, null],
  ['ref=zocdoc', 'zocdoc', null, null],
  ['source=qr-code', 'qr-code', null, null],
  ['utm_source=linkedin&utm_medium=social&utm_campaign=careers', 'linkedin', 'social', 'careers'],
  ['utm_source=google&utm_medium=display&utm_campaign=covid-19-vaccine', 'google', 'display', 'covid-19-vaccine'],
  ['utm_source=tiktok&utm_medium=video', 'tiktok', 'video', null],
  ['utm_source=nextdoor&utm_campaign=open-house', 'nextdoor', null, 'open-house'],
  ['utm_source=radio&utm_medium=offline&utm_campaign=wxyz-spots', 'radio', 'offline', 'wxyz-spots'],
  ['utm_source=google&utm_medium=cpc&utm_campaign=urgent.care.brand', 'google', 'cpc', 'urgent.care.brand'],
  ['utm_source=Google&utm_medium=CPC', 'google', 'cpc', null],
  ['gclid=EAIaIQobChMI8abc&utm_source=google', 'google', null, null],
  ['fbclid=IwAR2xyz123&utm_source=facebook&utm_medium=social', 'facebook', 'social', null],
];
const CAMPAIGN_PAGES = ['/', '/services/flu-shots', '/careers', '/locations/downtown', '/blog/2024/03/flu-season'];

function build(): OrdinaryUrl[] {
  const out: OrdinaryUrl[] = [];
  const add = (id: string, path: string, page = path, countOnly = false) =>
    out.push({
      id,
      url: `${ORIGIN}${path}`,
      page,
      countOnly,
      utmSource: null,
      utmMedium: null,
      utmCampaign: null,
    });
  for (const s of SERVICES) add(`services/${s}`, `/services/${s}`);
  for (const s of SPECIALTIES) add(`specialties/${s}`, `/specialties/${s}`);
  for (const p of PROVIDERS) add(`providers/${p}`, `/providers/${p}`, '/providers/:slug');
  for (const l of LOCATIONS) add(`locations/${l}`, `/locations/${l}`);
  for (const path of [...BLOG, ...INSURANCE, ...CAREERS, ...RESOURCES, ...GENERAL]) add(`page${path}`, path);
  for (const [path, name] of CLASSED) add(`classed${path}`, path, name, true);
  for (const [i, [query, utmSource, utmMedium, utmCampaign]] of CAMPAIGNS.entries()) {
    const path = CAMPAIGN_PAGES[i % CAMPAIGN_PAGES.length]!;
    out.push({
      id: `campaign/${i}`,
      url: `${ORIGIN}${path}?${query}`,
      page: path,
      countOnly: false,
      utmSource,
      utmMedium,
      utmCampaign,
    });
  }
  return out;
}

export const ORDINARY_URLS: OrdinaryUrl[] = build();
