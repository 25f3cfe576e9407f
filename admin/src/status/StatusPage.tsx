import {
  Alert,
  AlertTitle,
  Box,
  Card,
  CardContent,
  Chip,
  CircularProgress,
  Link,
  Stack,
  Table,
  TableBody,
  TableCell,
  TableHead,
  TableRow,
  Typography,
} from '@mui/material';
import { Title, useLocaleState, useTranslate } from 'react-admin';
import type { ComponentHealth, HealthReport } from './health.ts';
import { useHealth } from './useHealth.ts';

export const HEALTH_REFRESH_MS = 5_000;

const chipColor = (state: string) =>
  state === 'up' ? 'success' : state === 'degraded' ? 'warning' : 'error';

/** 系统状态: the platform's components as GET /health reports them, refreshed every few seconds. */
export const StatusPage = () => {
  const translate = useTranslate();
  const { report, error, isPending } = useHealth(HEALTH_REFRESH_MS);

  return (
    <Box sx={{ mt: 2 }} data-testid="status-page">
      <Title title="onecard.status.title" />
      <Stack spacing={2}>
        {error ? <FetchError error={error} report={report} /> : null}
        {isPending ? (
          <Stack direction="row" spacing={1} sx={{ alignItems: 'center' }} data-testid="health-loading">
            <CircularProgress size={20} />
            <Typography>{translate('onecard.status.loading')}</Typography>
          </Stack>
        ) : null}
        {report ? <Overview report={report} /> : null}
        {report ? <ComponentTable components={report.components} /> : null}
        {report ? <Links links={report.links} /> : null}
      </Stack>
    </Box>
  );
};

const FetchError = ({ error, report }: { error: Error; report?: HealthReport }) => {
  const translate = useTranslate();
  const formatTime = useFormatTime();
  return (
    <Alert severity="error" data-testid="health-error">
      <AlertTitle>{translate('onecard.status.fetch_failed')}</AlertTitle>
      <Typography variant="body2" component="div" sx={{ fontFamily: 'monospace' }}>
        {error.message}
      </Typography>
      {report ? (
        <Typography variant="body2" component="div">
          {translate('onecard.status.stale', { time: formatTime(report.checkedAt) })}
        </Typography>
      ) : null}
    </Alert>
  );
};

const Overview = ({ report }: { report: HealthReport }) => {
  const translate = useTranslate();
  const formatTime = useFormatTime();
  return (
    <Card>
      <CardContent>
        <Stack direction="row" spacing={2} useFlexGap sx={{ alignItems: 'center', flexWrap: 'wrap' }}>
          <Typography variant="h6" component="h2" id="health-overall-label">
            {translate('onecard.status.overall')}
          </Typography>
          <Chip
            data-testid="health-overall"
            data-status={report.status}
            aria-labelledby="health-overall-label"
            color={chipColor(report.status)}
            label={translate(`onecard.status.state.${report.status}`, { _: report.status })}
          />
          <Typography color="text.secondary" data-testid="platform-version">
            {translate('onecard.status.platform_version', { version: report.version })}
          </Typography>
          <Typography color="text.secondary" data-testid="health-checked-at">
            {translate('onecard.status.checked_at', { time: formatTime(report.checkedAt) })}
          </Typography>
          <Typography color="text.secondary" variant="body2">
            {translate('onecard.status.auto_refresh', { seconds: HEALTH_REFRESH_MS / 1000 })}
          </Typography>
        </Stack>
      </CardContent>
    </Card>
  );
};

const ComponentTable = ({ components }: { components: ComponentHealth[] }) => {
  const translate = useTranslate();
  const column = (name: string) => translate(`onecard.status.columns.${name}`);
  return (
    <Card>
      <Table aria-label={translate('onecard.status.title')} data-testid="health-components">
        <TableHead>
          <TableRow>
            <TableCell>{column('component')}</TableCell>
            <TableCell>{column('status')}</TableCell>
            <TableCell>{column('version')}</TableCell>
            <TableCell align="right">{column('latency')}</TableCell>
            <TableCell>{column('endpoint')}</TableCell>
            <TableCell>{column('error')}</TableCell>
          </TableRow>
        </TableHead>
        <TableBody>
          {components.map((component) => (
            <ComponentRow key={component.name} component={component} />
          ))}
        </TableBody>
      </Table>
    </Card>
  );
};

const ComponentRow = ({ component }: { component: ComponentHealth }) => {
  const translate = useTranslate();
  const { name, status } = component;
  return (
    <TableRow data-testid={`component-${name}`} data-status={status}>
      <TableCell
        component="th"
        scope="row"
        data-testid={`component-${name}-name`}
        sx={{ whiteSpace: 'nowrap' }}
      >
        {translate(`onecard.status.components.${name}`, { _: name })}
      </TableCell>
      <TableCell>
        <Chip
          size="small"
          data-testid={`component-${name}-status`}
          data-status={status}
          color={chipColor(status)}
          label={translate(`onecard.status.state.${status}`, { _: status })}
        />
      </TableCell>
      <TableCell data-testid={`component-${name}-version`} sx={{ whiteSpace: 'nowrap' }}>
        {component.version ?? '—'}
      </TableCell>
      <TableCell align="right" data-testid={`component-${name}-latency`} sx={{ whiteSpace: 'nowrap' }}>
        {component.latencyMs === undefined
          ? '—'
          : translate('onecard.status.latency_ms', { ms: component.latencyMs })}
      </TableCell>
      <TableCell sx={{ fontFamily: 'monospace' }}>{component.endpoint ?? '—'}</TableCell>
      <TableCell data-testid={`component-${name}-error`} sx={{ color: 'error.main' }}>
        {component.error ?? ''}
      </TableCell>
    </TableRow>
  );
};

const Links = ({ links }: { links: HealthReport['links'] }) => {
  const translate = useTranslate();
  return (
    <Card>
      <CardContent>
        <Typography variant="h6" component="h2" gutterBottom>
          {translate('onecard.status.links.title')}
        </Typography>
        <Stack direction="row" spacing={3} useFlexGap sx={{ flexWrap: 'wrap' }}>
          {links.temporalWebUi ? (
            <Link
              href={links.temporalWebUi}
              target="_blank"
              rel="noopener noreferrer"
              data-testid="temporal-web-ui-link"
            >
              {translate('onecard.status.links.temporal_web_ui')}
            </Link>
          ) : (
            <Typography color="text.secondary" data-testid="temporal-web-ui-unknown">
              {translate('onecard.status.links.temporal_web_ui_unknown')}
            </Typography>
          )}
          {links.openapi ? (
            <Link href={links.openapi} target="_blank" rel="noopener noreferrer" data-testid="openapi-link">
              {translate('onecard.status.links.openapi')}
            </Link>
          ) : null}
        </Stack>
      </CardContent>
    </Card>
  );
};

function useFormatTime() {
  const [locale] = useLocaleState();
  return (iso: string) => {
    const time = new Date(iso);
    return Number.isNaN(time.getTime()) ? iso : time.toLocaleString(locale);
  };
}
