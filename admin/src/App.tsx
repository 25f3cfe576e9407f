import { Admin, CustomRoutes, Resource, reactRouterProvider } from 'react-admin';
import { createDataProvider } from './dataProvider.ts';
import { i18nProvider } from './i18n/index.ts';
import { AppTitle, Layout } from './Layout.tsx';
import processes from './processes/index.ts';
import { ReportsPage } from './reports/index.ts';
import { StatusPage } from './status/index.ts';
import { theme } from './theme.ts';

const { Route } = reactRouterProvider;
const dataProvider = createDataProvider('/api');

/**
 * The map of the console. Routing is react-admin's default hash router (/admin/#/status), so the API
 * only has to serve admin/dist under /admin/.
 *
 * Resources come here as the API grows them, one folder each: schools, cardholders, cards, merchants,
 * terminals — e.g. <Resource name="schools" {...schools} />.
 */
export const App = () => (
  <Admin
    title={<AppTitle />}
    dataProvider={dataProvider}
    i18nProvider={i18nProvider}
    layout={Layout}
    theme={theme}
    dashboard={StatusPage}
    disableTelemetry
  >
    <Resource name="processes" {...processes} />
    <CustomRoutes>
      <Route path="/status" element={<StatusPage />} />
      <Route path="/reports" element={<ReportsPage />} />
    </CustomRoutes>
  </Admin>
);
