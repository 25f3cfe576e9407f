import { useEffect, useMemo, useState, type FormEvent } from 'react';
import {
  Alert,
  Box,
  Button,
  Card,
  CardContent,
  CircularProgress,
  MenuItem,
  Stack,
  Table,
  TableBody,
  TableCell,
  TableContainer,
  TableHead,
  TableRow,
  TextField,
  Typography,
} from '@mui/material';
import { HttpError, Title, fetchUtils, useTranslate } from 'react-admin';

/** One entry of GET /api/reports. */
interface ReportInfo {
  name: string;
  title: string;
  params: Record<string, string>;
  paramTypes: Record<string, string>;
  formats: string[];
}

type Result =
  { kind: 'rows'; rows: Array<Record<string, unknown>> } | { kind: 'error'; status: number; message: string };

const inputType = (type: string | undefined) =>
  type === 'Date' ? 'date' : type === 'UInt16' ? 'number' : 'text';

/** The API's own error message (it names the field), else what fetchJson made of the failure. */
const messageOf = (error: unknown) =>
  error instanceof HttpError
    ? ((error.body as { error?: { message?: string } } | undefined)?.error?.message ??
      `HTTP ${error.status} ${error.message}`)
    : (error as Error).message;
const statusOf = (error: unknown) => (error instanceof HttpError ? error.status : 0);

/**
 * 报表: every report of the report API, its parameters as a form, the rows as a table, and the same
 * query as CSV or XLSX. The page only builds the query string; the API validates and binds every value.
 */
export const ReportsPage = () => {
  const translate = useTranslate();
  const [catalog, setCatalog] = useState<ReportInfo[] | undefined>();
  const [catalogError, setCatalogError] = useState<string | undefined>();
  const [name, setName] = useState('');
  const [values, setValues] = useState<Record<string, string>>({});
  const [result, setResult] = useState<Result | undefined>();
  const [running, setRunning] = useState(false);
  const [ranQuery, setRanQuery] = useState<string | undefined>();

  useEffect(() => {
    fetchUtils
      .fetchJson('/api/reports')
      .then(({ json }) => setCatalog(json as ReportInfo[]))
      .catch((error: unknown) => setCatalogError(messageOf(error)));
  }, []);

  const report = useMemo(() => catalog?.find((r) => r.name === name), [catalog, name]);
  const query = useMemo(
    () =>
      report
        ? new URLSearchParams(Object.keys(report.params).map((k) => [k, values[k] ?? ''])).toString()
        : '',
    [report, values],
  );

  const choose = (next: string) => {
    setName(next);
    setValues({});
    setResult(undefined);
    setRanQuery(undefined);
  };

  const run = async (event: FormEvent) => {
    event.preventDefault();
    if (!report) return;
    setRunning(true);
    try {
      const { json } = await fetchUtils.fetchJson(`/api/reports/${report.name}?${query}`);
      setResult({ kind: 'rows', rows: (json as { rows: Array<Record<string, unknown>> }).rows });
      setRanQuery(query);
    } catch (error) {
      setResult({ kind: 'error', status: statusOf(error), message: messageOf(error) });
      setRanQuery(undefined);
    } finally {
      setRunning(false);
    }
  };

  const columns = result?.kind === 'rows' ? Object.keys(result.rows[0] ?? {}) : [];

  return (
    <Box sx={{ mt: 2 }} data-testid="reports-page">
      <Title title="onecard.reports.title" />
      <Stack spacing={2}>
        {catalogError ? (
          <Alert severity="error" data-testid="reports-catalog-error">
            {translate('onecard.reports.catalog_failed')}: {catalogError}
          </Alert>
        ) : null}
        <Card>
          <CardContent>
            <Stack component="form" spacing={2} onSubmit={run} noValidate>
              <TextField
                select
                label={translate('onecard.reports.report')}
                value={name}
                onChange={(e) => choose(e.target.value)}
                slotProps={{ htmlInput: { 'data-testid': 'report-select' } }}
                sx={{ maxWidth: 560 }}
              >
                {(catalog ?? []).map((r) => (
                  <MenuItem key={r.name} value={r.name} data-testid={`report-option-${r.name}`}>
                    {r.title}
                  </MenuItem>
                ))}
              </TextField>
              {report ? (
                <Stack direction="row" spacing={2} useFlexGap sx={{ flexWrap: 'wrap' }}>
                  {Object.entries(report.params).map(([param, description]) => (
                    <TextField
                      key={param}
                      label={param}
                      helperText={description}
                      type={inputType(report.paramTypes[param])}
                      sx={{ width: 280 }}
                      value={values[param] ?? ''}
                      onChange={(e) => setValues({ ...values, [param]: e.target.value })}
                      slotProps={{
                        inputLabel: { shrink: true },
                        htmlInput: { 'data-testid': `report-param-${param}` },
                      }}
                    />
                  ))}
                </Stack>
              ) : null}
              <Stack direction="row" spacing={2} sx={{ alignItems: 'center' }}>
                <Button
                  type="submit"
                  variant="contained"
                  disabled={!report || running}
                  data-testid="report-run"
                >
                  {translate('onecard.reports.run')}
                </Button>
                {running ? <CircularProgress size={20} /> : null}
                {report && ranQuery !== undefined
                  ? report.formats
                      .filter((f) => f !== 'json')
                      .map((format) => (
                        <Button
                          key={format}
                          variant="outlined"
                          href={`/api/reports/${report.name}?${ranQuery}&format=${format}`}
                          data-testid={`report-export-${format}`}
                        >
                          {translate('onecard.reports.export', { format: format.toUpperCase() })}
                        </Button>
                      ))
                  : null}
              </Stack>
            </Stack>
          </CardContent>
        </Card>
        {result?.kind === 'error' ? (
          <Alert severity={result.status === 503 ? 'warning' : 'error'} data-testid="report-error">
            {result.message}
          </Alert>
        ) : null}
        {result?.kind === 'rows' ? (
          <Card>
            <CardContent>
              <Typography variant="subtitle2" data-testid="report-count">
                {translate('onecard.reports.rows', { smart_count: result.rows.length })}
              </Typography>
              {result.rows.length > 0 ? (
                <TableContainer sx={{ maxHeight: 560 }}>
                  <Table size="small" stickyHeader data-testid="report-table">
                    <TableHead>
                      <TableRow>
                        {columns.map((c) => (
                          <TableCell key={c}>{c}</TableCell>
                        ))}
                      </TableRow>
                    </TableHead>
                    <TableBody>
                      {result.rows.map((row, i) => (
                        <TableRow key={i} data-testid="report-row">
                          {columns.map((c) => (
                            <TableCell key={c}>{row[c] === null ? '' : String(row[c])}</TableCell>
                          ))}
                        </TableRow>
                      ))}
                    </TableBody>
                  </Table>
                </TableContainer>
              ) : null}
            </CardContent>
          </Card>
        ) : null}
      </Stack>
    </Box>
  );
};
