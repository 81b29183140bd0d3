/**
 * Identifying values the corpus plants, by kind, with the placeholder the collector writes in
 * their place when one stands alone in a path segment. `pii`: what must not survive (defaults to
 * the value itself); a value with separators is searched separator-free, so `+44 20 7946 0958`
 * is also found as `442079460958`.
 */
export type Placeholder = ':email' | ':phone' | ':id' | ':token' | ':date' | ':ip';

export type Planted = {
  /** A short label for item ids. */
  label: string;
  value: string;
  /**
   * The placeholder a path segment holding just this value becomes (several: either is right; a token
   * with letters followed by four digits somewhere in it is also a letter-prefixed identifier, `:id`).
   */
  placeholder: Placeholder | Placeholder[];
  pii?: string[];
};

export const DATES_OF_BIRTH: Planted[] = [
  { label: 'iso', value: '1984-03-12', placeholder: ':date' },
  { label: 'iso-slash', value: '1984/03/12', placeholder: ':date' },
  { label: 'iso-dot', value: '1984.03.12', placeholder: ':date' },
  { label: 'iso-underscore', value: '1984_03_12', placeholder: ':date' },
  { label: 'iso-compact', value: '19840312', placeholder: ':date' },
  { label: 'us-dash', value: '03-12-1984', placeholder: ':date' },
  { label: 'us-short', value: '3-12-84', placeholder: ':date' },
  { label: 'us-slash', value: '03/12/1984', placeholder: ':date' },
  { label: 'us-slash-short', value: '3/12/84', placeholder: ':date' },
  { label: 'us-space', value: '03 12 1984', placeholder: [':date', ':phone'] },
  { label: 'eu-dot', value: '12.03.1984', placeholder: ':date' },
  { label: 'eu-dot-short', value: '12.3.84', placeholder: ':date' },
  { label: 'eu-dash', value: '12-03-1984', placeholder: ':date' },
  { label: 'eu-slash-short', value: '12/03/84', placeholder: ':date' },
  { label: 'eu-compact', value: '12031984', placeholder: [':date', ':id'] },
  { label: 'month-first', value: 'March-12-1984', placeholder: ':date', pii: ['March-12-1984'] },
  { label: 'day-mon', value: '12-mar-1984', placeholder: ':date' },
  { label: 'mon-day-space', value: 'Mar 12 1984', placeholder: ':date' },
  { label: 'day-month-space', value: '12 March 1984', placeholder: ':date' },
  { label: 'month-comma', value: 'March 12, 1984', placeholder: ':date' },
  { label: 'day-month-compact', value: '12March1984', placeholder: ':date' },
  { label: 'month-underscore', value: 'march_12_1984', placeholder: ':date' },
  { label: 'year-mon-day', value: '1984-Mar-12', placeholder: ':date' },
  { label: 'day-month-short-year', value: '12-March-84', placeholder: ':date' },
  { label: 'sept', value: 'Sept-7-1991', placeholder: ':date' },
  { label: 'sep-dot', value: '07.Sep.1991', placeholder: ':date' },
  { label: 'december', value: 'December 31 2001', placeholder: ':date' },
  { label: 'dec-short-year', value: '31-dec-01', placeholder: ':date' },
  { label: 'ordinal', value: '7th-september-1991', placeholder: ':date' },
  { label: 'feb-upper', value: '29-FEB-1996', placeholder: ':date' },
];

export const RECORD_NUMBERS: Planted[] = [
  { label: 'mrn-plain', value: 'MRN12345', placeholder: ':id' },
  { label: 'mrn-colon', value: 'MRN:12345', placeholder: ':id' },
  { label: 'mrn-dash', value: 'MRN-0012345', placeholder: ':id' },
  { label: 'mrn-lower-underscore', value: 'mrn_778812', placeholder: ':id' },
  { label: 'mrn-hash', value: 'MRN#554433', placeholder: ':id' },
  { label: 'mrn-space', value: 'MRN 00123', placeholder: ':id' },
  { label: 'patient', value: 'pt12345', placeholder: ':id' },
  { label: 'patient-dash', value: 'PT-99812', placeholder: ':id' },
  { label: 'id-dash', value: 'ID-12345', placeholder: ':id' },
  { label: 'chart', value: 'chart-884412', placeholder: ':id' },
  { label: 'insurance-prefix', value: 'XYZ123456789', placeholder: ':id' },
  { label: 'insurance-member', value: 'W123456789', placeholder: ':id' },
  { label: 'insurance-group', value: 'GRP-0049211', placeholder: ':id' },
  { label: 'medicaid', value: 'CA12345678A', placeholder: [':id', ':token'] },
  { label: 'medicare-mbi', value: '1EG4-TE5-MK73', placeholder: [':id', ':token'], pii: ['1EG4TE5MK73'] },
  { label: 'ssn', value: '123-45-6789', placeholder: ':id' },
  { label: 'ssn-space', value: '123 45 6789', placeholder: [':id', ':phone'] },
  { label: 'ssn-bare', value: '123456789', placeholder: ':id' },
  { label: 'account', value: 'ACCT-000123456', placeholder: ':id' },
  { label: 'account-lower', value: 'acct4455667788', placeholder: ':id' },
  { label: 'invoice', value: 'INV20240017', placeholder: ':id' },
  { label: 'dea-license', value: 'AB1234563', placeholder: ':id' },
  { label: 'npi', value: '1234567893', placeholder: [':id', ':phone'] },
  { label: 'vin', value: '1HGCM82633A004352', placeholder: [':id', ':token'] },
  { label: 'imei', value: '490154203237518', placeholder: ':id' },
  { label: 'device-serial', value: 'SN-88412093', placeholder: ':id' },
];

export const PHONES: Planted[] = [
  { label: 'us-parens', value: '(555) 301-7788', placeholder: ':phone' },
  { label: 'us-dash', value: '555-301-7788', placeholder: ':phone' },
  { label: 'us-dot', value: '555.301.7788', placeholder: ':phone' },
  { label: 'us-intl', value: '+1 555 301 7788', placeholder: ':phone' },
  { label: 'us-bare', value: '5553017788', placeholder: [':phone', ':id'] },
  { label: 'uk-london', value: '+44 20 7946 0958', placeholder: ':phone' },
  { label: 'uk-mobile', value: '+44 7700 900123', placeholder: ':phone' },
  { label: 'uk-national', value: '020 7946 0958', placeholder: ':phone' },
  { label: 'de-berlin', value: '+49 30 901820', placeholder: ':phone' },
  { label: 'de-trunk', value: '+49 (0)30 12345678', placeholder: ':phone' },
  { label: 'de-national', value: '030 12345678', placeholder: ':phone' },
  { label: 'fr-intl', value: '+33 1 23 45 67 89', placeholder: ':phone' },
  { label: 'fr-national', value: '01 23 45 67 89', placeholder: ':phone' },
  { label: 'fr-mobile-dots', value: '06.12.34.56.78', placeholder: ':phone' },
  { label: 'in-mobile', value: '+91 98765 43210', placeholder: ':phone' },
  { label: 'in-dash', value: '+91-9876543210', placeholder: ':phone' },
  { label: 'au-sydney', value: '+61 2 9876 5432', placeholder: ':phone' },
  { label: 'au-national', value: '(02) 9876 5432', placeholder: ':phone' },
  { label: 'au-mobile', value: '+61 412 345 678', placeholder: ':phone' },
  { label: 'jp', value: '+81 3-1234-5678', placeholder: ':phone' },
  { label: 'br', value: '+55 11 91234-5678', placeholder: ':phone' },
  { label: 'mx', value: '+52 55 1234 5678', placeholder: ':phone' },
  { label: 'fax', value: '555-301-7799', placeholder: ':phone' },
  { label: 'tel-uri', value: 'tel:+1-555-301-7788', placeholder: ':phone', pii: ['555-301-7788'] },
];

export const EMAILS: Planted[] = [
  { label: 'plain', value: 'jane.doe@gmail.com', placeholder: ':email', pii: ['jane.doe@gmail.com', 'jane.doe'] },
  {
    label: 'paren-at',
    value: 'john.doe(at)gmail.com',
    placeholder: ':email',
    pii: ['john.doe(at)gmail.com', 'john.doe'],
  },
  {
    label: 'bracket-at-dot',
    value: 'jose.garcia[at]hotmail[dot]com',
    placeholder: ':email',
    pii: ['jose.garcia'],
  },
  { label: 'spelled', value: 'ngozi dot okonkwo at yahoo dot com', placeholder: ':email', pii: ['ngozi dot okonkwo'] },
  { label: 'spaced-at', value: 'kenji.watanabe at outlook.jp', placeholder: ':email', pii: ['kenji.watanabe'] },
  {
    label: 'brace-at',
    value: 'priya.r {at} example.in',
    placeholder: ':email',
    pii: ['priya.r {at} example.in', 'priya.r'],
  },
  { label: 'fullwidth-at', value: 'aoife.nibhriain＠gmail.com', placeholder: ':email', pii: ['aoife.nibhriain'] },
  { label: 'plus-tag', value: 'olena+clinic@ukr.net', placeholder: ':email', pii: ['olena+clinic', 'olenaclinic'] },
  { label: 'encoded-at', value: 'wang.xiaoming%40qq.com', placeholder: ':email', pii: ['wang.xiaoming'] },
  { label: 'upper', value: 'MOHAMMED.ABDULLAH@MAIL.SA', placeholder: ':email', pii: ['mohammed.abdullah'] },
  { label: 'mailto', value: 'mailto:ngozi.okonkwo@gmail.com', placeholder: ':email', pii: ['ngozi.okonkwo'] },
  { label: 'encoded-dots', value: 'jane%2Eroe%40gmail%2Ecom', placeholder: ':email', pii: ['jane.roe'] },
  { label: 'idn-domain', value: 'björn.lindqvist@bücher.de', placeholder: ':email', pii: ['björn.lindqvist'] },
];

/** Emails whose `@` arrives percent-encoded 1 to 10 times. */
export const ENCODED_EMAIL = 'nguyen.van.an@clinicmail.vn';

export const IPS: Planted[] = [
  { label: 'v4-private', value: '10.0.0.1', placeholder: ':ip' },
  { label: 'v4-lan', value: '192.168.1.20', placeholder: ':ip' },
  { label: 'v4-doc', value: '203.0.113.7', placeholder: ':ip' },
  { label: 'v4-public', value: '81.2.69.142', placeholder: ':ip' },
  { label: 'v6-short', value: '2001:db8::1', placeholder: ':ip' },
  { label: 'v6-link-local', value: 'fe80::1ff:fe23:4567:890a', placeholder: ':ip' },
  { label: 'v6-mapped', value: '::ffff:198.51.100.4', placeholder: ':ip' },
  { label: 'v6-full', value: '2001:0db8:0000:0000:0000:ff00:0042:8329', placeholder: ':ip' },
];

export const TOKENS: Planted[] = [
  {
    label: 'jwt',
    value:
      'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U',
    placeholder: [':token', ':id'],
    pii: ['eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9', 'dozjgNryP4J3jVmNHl0w5N'],
  },
  { label: 'md5-hex', value: '5f4dcc3b5aa765d61d8327deb882cf99', placeholder: [':token', ':id'] },
  { label: 'sha1-hex', value: 'da39a3ee5e6b4b0d3255bfef95601890afd80709', placeholder: [':token', ':id'] },
  { label: 'base64url', value: 'dGhpcyBpcyBhIHNlY3JldCB0b2tlbg', placeholder: ':token' },
  { label: 'session', value: 'sess_9f8e7d6c5b4a39281706', placeholder: [':token', ':id'] },
  { label: 'uuid', value: '3f2504e0-4f89-11d3-9a0c-0305e82c3301', placeholder: [':id', ':token'] },
  {
    label: 'api-key',
    value: 'sk_live_51H8xYzAbCdEfGhIjKlMnOp',
    placeholder: ':token',
    pii: ['51H8xYzAbCdEfGhIjKlMnOp'],
  },
  { label: 'b64url-underscore', value: 'Qx7fK2pLm9Za_b3VnR8tYw4E', placeholder: ':token' },
  { label: 'b64url-mixed', value: 'k3J9_xQ2mZ7-pL4vN8_wR5tY', placeholder: ':token' },
  {
    label: 'reset-code',
    value: 'Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MA',
    placeholder: ':token',
  },
];

/** Identifiers written in non-ASCII digits (and identifiers split by zero-width characters). */
export const FOREIGN_DIGITS: Planted[] = [
  { label: 'arabic-indic-phone', value: '٥٥٥٣٠١٧٧٨٨', placeholder: [':phone', ':id'] },
  { label: 'arabic-indic-ssn', value: '١٢٣-٤٥-٦٧٨٩', placeholder: ':id' },
  { label: 'persian-id', value: '۱۲۳۴۵۶۷۸', placeholder: ':id' },
  { label: 'thai-id', value: '๑๒๓๔๕๖๗๘๙', placeholder: ':id' },
  { label: 'thai-date', value: '๑๒-๐๓-๑๙๘๔', placeholder: ':date' },
  { label: 'devanagari-phone', value: '+९१ ९८७६५ ४३२१०', placeholder: ':phone' },
  { label: 'fullwidth-ssn', value: '１２３-４５-６７８９', placeholder: ':id' },
  { label: 'fullwidth-mrn', value: 'ＭＲＮ１２３４５', placeholder: ':id' },
  { label: 'arabic-mrn', value: 'MRN٤٥٦٧٨', placeholder: ':id' },
  { label: 'bengali-id', value: '১২৩৪৫৬৭৮৯', placeholder: ':id' },
  { label: 'zw-mrn', value: 'MRN\u200B12345', placeholder: ':id', pii: ['MRN12345'] },
  { label: 'zw-phone', value: '555\u200D301\u200D7788', placeholder: [':phone', ':id'], pii: ['5553017788'] },
  { label: 'soft-hyphen-ssn', value: '123\u00AD45\u00AD6789', placeholder: ':id', pii: ['123456789'] },
  { label: 'bom-email', value: 'jane\uFEFF.doe@gmail.com', placeholder: ':email', pii: ['jane.doe'] },
];

/** Names from several cultures, as written and as the slugs sites make of them. */
export type PlantedName = { label: string; name: string; slug: string; dotted: string; pii: string[] };

export const NAMES: PlantedName[] = [
  {
    label: 'spanish',
    name: 'José García',
    slug: 'jose-garcia',
    dotted: 'jose.garcia',
    pii: ['José García', 'García'],
  },
  {
    label: 'vietnamese',
    name: 'Nguyễn Văn An',
    slug: 'nguyen-van-an',
    dotted: 'nguyen.van.an',
    pii: ['Nguyễn Văn An', 'Nguyễn'],
  },
  {
    label: 'ukrainian',
    name: 'Олена Коваленко',
    slug: 'olena-kovalenko',
    dotted: 'olena.kovalenko',
    pii: ['Олена Коваленко', 'Коваленко', 'kovalenko'],
  },
  {
    label: 'arabic',
    name: 'محمد عبدالله',
    slug: 'mohammed-abdullah',
    dotted: 'mohammed.abdullah',
    pii: ['محمد عبدالله', 'عبدالله', 'abdullah'],
  },
  { label: 'chinese', name: '王小明', slug: 'wang-xiaoming', dotted: 'wang.xiaoming', pii: ['王小明', 'xiaoming'] },
  {
    label: 'irish',
    name: 'Aoife Ní Bhriain',
    slug: 'aoife-ni-bhriain',
    dotted: 'aoife.ni.bhriain',
    pii: ['Aoife Ní Bhriain', 'Bhriain'],
  },
  {
    label: 'igbo',
    name: 'Ngozi Okonkwo',
    slug: 'ngozi-okonkwo',
    dotted: 'ngozi.okonkwo',
    pii: ['Ngozi Okonkwo', 'Okonkwo'],
  },
  { label: 'english', name: 'Jane Doe', slug: 'jane-doe', dotted: 'jane.doe', pii: ['Jane Doe', 'janedoe'] },
  {
    label: 'japanese',
    name: '渡辺健二',
    slug: 'kenji-watanabe',
    dotted: 'kenji.watanabe',
    pii: ['渡辺健二', 'watanabe'],
  },
  {
    label: 'hindi',
    name: 'Priya Raghunathan',
    slug: 'priya-raghunathan',
    dotted: 'priya.raghunathan',
    pii: ['Raghunathan'],
  },
  {
    label: 'polish',
    name: 'Łukasz Wiśniewski',
    slug: 'lukasz-wisniewski',
    dotted: 'lukasz.wisniewski',
    pii: ['Wiśniewski', 'wisniewski'],
  },
  {
    label: 'swedish',
    name: 'Björn Lindqvist',
    slug: 'bjorn-lindqvist',
    dotted: 'bjorn.lindqvist',
    pii: ['Lindqvist'],
  },
  {
    label: 'yoruba',
    name: 'Oluwaseun Adeyemi',
    slug: 'oluwaseun-adeyemi',
    dotted: 'oluwaseun.adeyemi',
    pii: ['Oluwaseun', 'Adeyemi'],
  },
  {
    label: 'korean',
    name: '김민준',
    slug: 'kim-minjun',
    dotted: 'kim.minjun',
    pii: ['김민준', 'minjun'],
  },
];
