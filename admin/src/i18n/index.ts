import polyglotI18nProvider from 'ra-i18n-polyglot';
import { zhCNMessages } from './zh-CN.ts';
import { enUSMessages } from './en-US.ts';

// Chinese first: it is the default locale and the first entry of the locale switcher.
// react-admin remembers the user's choice in its store (localStorage).
export const i18nProvider = polyglotI18nProvider(
  (locale) => (locale === 'en-US' ? enUSMessages : zhCNMessages),
  'zh-CN',
  [
    { locale: 'zh-CN', name: '简体中文' },
    { locale: 'en-US', name: 'English' },
  ],
);
