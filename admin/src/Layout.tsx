import type { ReactNode } from 'react';
import { Layout as RaLayout, Menu, useTranslate } from 'react-admin';
import MonitorHeartIcon from '@mui/icons-material/MonitorHeart';
import TableChartIcon from '@mui/icons-material/TableChart';

// The menu lists the custom pages first, then one entry per <Resource> as they are added.
const AppMenu = () => (
  <Menu>
    <Menu.Item to="/" primaryText="onecard.menu.status" leftIcon={<MonitorHeartIcon />} />
    <Menu.Item to="/reports" primaryText="onecard.menu.reports" leftIcon={<TableChartIcon />} />
    <Menu.ResourceItems />
  </Menu>
);

// The default app bar already carries the locale switcher (i18nProvider.getLocales() has two locales).
export const Layout = ({ children }: { children: ReactNode }) => (
  <RaLayout menu={AppMenu}>{children}</RaLayout>
);

// react-admin shows the Admin title untranslated on pages without their own <Title>, so translate it here.
export const AppTitle = () => <>{useTranslate()('onecard.title')}</>;
